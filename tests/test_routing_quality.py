"""The admin's routing-quality page: shares computed from the audit history of real decisions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from feedback_app.bureau import services as bureau
from feedback_app.extensions import db
from feedback_app.kernel.models import Role, Status
from feedback_app.moderation import services as moderation
from feedback_app.routing import services as routing
from feedback_app.routing.quality import routing_quality

from . import factories


def _views(monkeypatch, n: int, *, route: bool):
    """Views the worker routed by itself (route=True) or queued for review, through routing's
    own code; only its decision is fixed, so the test does not depend on the model's mood."""
    monkeypatch.setattr(routing, "decide", lambda *args, **kwargs: routing.Decision(route, None if route else "test"))
    views = [factories.submission() for _ in range(n)]
    monkeypatch.undo()
    for sub in views:
        db.session.refresh(sub)
        assert sub.status == (Status.ROUTED if route else Status.NEEDS_REVIEW)
    return views


def test_shares_come_from_what_officers_and_moderators_did(app, client, login_as, monkeypatch):
    auto = _views(monkeypatch, 3, route=True)
    queued = _views(monkeypatch, 2, route=False)
    moderator = factories.user(Role.MODERATOR)

    # One automatic route is sent back by its bureau, another re-routed by a moderator.
    officer = factories.user(Role.OFFICER, bureau=auto[0].bureau_code)
    bureau.send_back(officer, auto[0].id, "Not ours")
    elsewhere = "HHB" if auto[1].bureau_code != "HHB" else "TLB"
    moderation.route(
        auto[1].id, area=auto[1].topic_area_code, bureau=elsewhere, actor=moderator, version=auto[1].version
    )
    # Moderators route the queued views: one as predicted, one elsewhere.
    moderation.route(
        queued[0].id,
        area=queued[0].topic_area_code,
        bureau=queued[0].predicted_bureau_code,
        actor=moderator,
        version=queued[0].version,
    )
    other = "HHB" if queued[1].predicted_bureau_code != "HHB" else "TLB"
    moderation.route(
        queued[1].id, area=queued[1].topic_area_code, bureau=other, actor=moderator, version=queued[1].version
    )

    # The view sent back is then re-routed by a moderator: still one view undone.
    db.session.refresh(auto[0])
    moderation.route(
        auto[0].id, area=auto[0].topic_area_code, bureau=elsewhere, actor=moderator, version=auto[0].version
    )

    total = routing_quality().total
    assert (total.decided, total.auto_routed, total.undone, total.reviewed, total.changed) == (5, 3, 2, 2, 1)
    assert total.auto_share == pytest.approx(3 / 5) and total.undone_share == pytest.approx(2 / 3)

    login_as(factories.user(Role.ADMIN))
    html = client.get("/admin/routing").get_data(as_text=True)
    assert "Routing quality" in html and "60%" in html and "67%" in html

    # Thirty-one days later they are out of the window (audit events cannot be back-dated).
    assert routing_quality(now=datetime.now(UTC) + timedelta(days=31)).total.decided == 0


def test_with_nothing_decided_the_page_says_so(app, client, login_as):
    login_as(factories.user(Role.ADMIN))
    assert "nothing to measure yet" in client.get("/admin/routing").get_data(as_text=True)


def test_only_admins_see_routing_quality(app, client, login_as):
    login_as(factories.user(Role.MODERATOR))
    assert client.get("/admin/routing").status_code == 403
