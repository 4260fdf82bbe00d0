"""One decision on many views: ticked or all matching, confirmed first, each audited, stale ones left."""

from __future__ import annotations

import re

from sqlalchemy import select

from feedback_app.extensions import db
from feedback_app.kernel.models import AuditAction, AuditEvent, Role, Status, Submission

from . import factories
from .conftest import csrf_token


def _waiting(app, count, *, bureau="TLB"):
    app.config["ROUTING_BUREAU_THRESHOLD"] = 1.01  # everything waits for a moderator
    views = [factories.submission(f"{factories.TRANSPORT_VIEW} ({bureau} {n})") for n in range(count)]
    for sub in views:
        sub.predicted_bureau_code = bureau
    db.session.commit()
    return views


def _bulk_page(client, query=""):
    page = client.get(f"/moderation/queue{query}").get_data(as_text=True)
    fields = dict(re.findall(r'<input id="(query|up_to_id)" name="\1" type="hidden" value="([^"]*)"', page))
    return page, {"csrf_token": csrf_token(page), **fields}


def test_ticked_views_are_shown_for_confirmation_then_each_is_routed_and_audited(app, client, login_as):
    first, second, untouched = _waiting(app, 3)
    moderator = login_as(factories.user(Role.MODERATOR))
    page, form = _bulk_page(client)
    assert f'value="{first.id}:{first.version}"' in page and "Decide on several views at once" in page
    ticked = [f"{first.id}:{first.version}", f"{second.id}:{second.version}"]
    data = {
        **form,
        "decision": "route_suggested",
        "scope": "selected",
        "item": ticked,
        "submit": "Review this decision",
    }
    preview = client.post("/moderation/bulk", data=data)
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "2 views will each be routed" in html
    assert first.reference in html and untouched.reference not in html
    assert db.session.get(Submission, first.id).status == Status.NEEDS_REVIEW  # nothing yet

    done = client.post(
        "/moderation/bulk",
        data={**data, "csrf_token": csrf_token(html), "confirm": "Confirm and decide"},
        follow_redirects=True,
    )
    assert "2 views decided; each decision is in its history." in done.get_data(as_text=True)
    for sub in (first, second):
        assert db.session.get(Submission, sub.id).status == Status.ROUTED
        events = (
            db.session.execute(
                select(AuditEvent).where(
                    AuditEvent.submission_id == sub.id, AuditEvent.action == AuditAction.ROUTE_CONFIRMED
                )
            )
            .scalars()
            .all()
        )
        assert len(events) == 1 and events[0].actor_id == moderator.id
    assert db.session.get(Submission, untouched.id).status == Status.NEEDS_REVIEW


def test_a_view_changed_after_the_moderator_looked_is_left_alone_and_named(app, client, login_as):
    first, second = _waiting(app, 2)
    moderator = login_as(factories.user(Role.MODERATOR))
    _page, form = _bulk_page(client)
    ticked = [f"{first.id}:{first.version}", f"{second.id}:{second.version}"]  # as the page showed them
    from feedback_app.moderation import services

    services.reject(second.id, reason="spam", note=None, actor=moderator, version=second.version)
    answer = client.post(
        "/moderation/bulk",
        follow_redirects=True,
        data={
            **form,
            "decision": "route",
            "bureau": "EEB",
            "scope": "selected",
            "confirm": "Confirm and decide",
            "item": ticked,
        },
    )
    html = answer.get_data(as_text=True)
    assert "1 view decided" in html and f"someone changed them after you looked: {second.reference}" in html
    assert db.session.get(Submission, first.id).bureau_code == "EEB"
    assert db.session.get(Submission, second.id).status == Status.REJECTED


def test_every_view_matching_the_filters_but_none_that_arrived_later(app, client, login_as):
    eeb = _waiting(app, 3, bureau="EEB")
    tlb = _waiting(app, 1, bureau="TLB")
    login_as(factories.user(Role.MODERATOR))
    _page, form = _bulk_page(client, "?bureau=EEB")
    assert form["query"] == "bureau=EEB"
    later = _waiting(app, 1, bureau="EEB")[0]  # arrives while the moderator decides
    answer = client.post(
        "/moderation/bulk",
        follow_redirects=True,
        data={
            **form,
            "decision": "reject",
            "reason": "spam",
            "scope": "matching",
            "confirm": "Confirm and decide",
        },
    )
    assert "3 views decided" in answer.get_data(as_text=True)
    assert answer.request.path == "/moderation/queue" and answer.request.args.get("bureau") == "EEB"
    assert {db.session.get(Submission, s.id).status for s in eeb} == {Status.REJECTED}
    assert db.session.get(Submission, tlb[0].id).status == Status.NEEDS_REVIEW
    assert db.session.get(Submission, later.id).status == Status.NEEDS_REVIEW
    rejected = db.session.execute(select(AuditEvent).where(AuditEvent.action == AuditAction.REJECTED)).scalars().all()
    assert sorted(e.submission_id for e in rejected) == sorted(s.id for s in eeb)


def test_a_decision_missing_its_bureau_or_reason_is_a_form_error_that_keeps_the_ticks(app, client, login_as):
    (first,) = _waiting(app, 1)
    login_as(factories.user(Role.MODERATOR))
    _page, form = _bulk_page(client)
    for decision, message in (
        ("route", "Choose the bureau to route them to."),
        ("reject", "Choose why they are rejected."),
    ):
        answer = client.post(
            "/moderation/bulk",
            data={
                **form,
                "decision": decision,
                "scope": "selected",
                "item": [f"{first.id}:{first.version}"],
                "submit": "Review this decision",
            },
        )
        html = answer.get_data(as_text=True)
        assert answer.status_code == 400 and message in html
        assert f'name="item" value="{first.id}:{first.version}"' in html
    nothing = client.post(
        "/moderation/bulk",
        follow_redirects=True,
        data={**form, "decision": "route_suggested", "scope": "selected", "submit": "Review this decision"},
    )
    assert "Tick at least one view" in nothing.get_data(as_text=True)
    assert db.session.get(Submission, first.id).status == Status.NEEDS_REVIEW


def test_forged_items_and_filters_are_refused(app, client, login_as):
    _waiting(app, 1)
    login_as(factories.user(Role.MODERATOR))
    _page, form = _bulk_page(client)
    base = {**form, "decision": "route_suggested", "scope": "selected", "submit": "Review this decision"}
    assert client.post("/moderation/bulk", data={**base, "item": ["1:abc"]}).status_code == 400
    assert client.post("/moderation/bulk", data={**base, "item": ["99999999999:1"]}).status_code == 400
    assert client.post("/moderation/bulk", data={**base, "query": "band=extreme", "item": ["1:1"]}).status_code == 400


def test_only_moderators_decide_in_bulk(app, client, login_as, officer):
    (first,) = _waiting(app, 1)
    login_as(officer)
    page = client.get("/bureau/").get_data(as_text=True)
    answer = client.post(
        "/moderation/bulk",
        data={
            "csrf_token": csrf_token(page),
            "decision": "reject",
            "reason": "spam",
            "scope": "selected",
            "item": [f"{first.id}:{first.version}"],
            "up_to_id": first.id,
            "confirm": "Confirm and decide",
        },
    )
    assert answer.status_code in (302, 403)
    assert db.session.get(Submission, first.id).status == Status.NEEDS_REVIEW
