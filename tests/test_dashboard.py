"""The moderators' dashboard: backlog by age, decisions per day, median time to triage, routing."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from feedback_app.extensions import db
from feedback_app.kernel.models import AuditAction, AuditEvent, RejectionReason, Role, Submission
from feedback_app.moderation import dashboard
from feedback_app.moderation import services as moderation

from . import factories


def test_the_figures_follow_the_views_and_decisions(app):
    app.config["ROUTING_BUREAU_THRESHOLD"] = 1.01  # everything waits for a moderator
    moderator = factories.user(Role.MODERATOR)
    views = [factories.submission(f"{factories.TRANSPORT_VIEW} ({n})") for n in range(4)]
    now = datetime.now(UTC)
    # Two arrived long ago; one of them is decided now, three hours after it arrived.
    db.session.execute(
        update(Submission).where(Submission.id == views[0].id).values(created_at=now - timedelta(days=10))
    )
    db.session.execute(
        update(Submission).where(Submission.id == views[1].id).values(created_at=now - timedelta(hours=3))
    )
    db.session.commit()
    moderation.reject(
        views[1].id, reason=RejectionReason.DUPLICATE, note=None, actor=moderator, version=views[1].version
    )
    # The dashboard as it was the moment the decision was stored: the decision's day is the day
    # the dashboard ends on, whatever the clock says by now (the test's own `now` above can be
    # a day earlier when the test runs across midnight UTC).
    decided_at = db.session.execute(
        select(AuditEvent.created_at).where(AuditEvent.action == AuditAction.REJECTED)
    ).scalar_one()
    board = dashboard.build(now=decided_at)
    assert dict(board.backlog) == {"hour": 2, "day": 0, "three_days": 0, "week": 0, "older": 1}
    assert board.decisions[-1] == (decided_at.date(), 1) and len(board.decisions) == dashboard.DECISION_DAYS
    assert board.triaged == 1 and timedelta(hours=2, minutes=59) < board.median_triage < timedelta(hours=3, minutes=1)
    assert board.routing.total.decided == 4 and board.routing.total.auto_routed == 0


def test_the_page_shows_charts_with_their_tables_in_the_readers_language(app, client, login_as):
    app.config["ROUTING_BUREAU_THRESHOLD"] = 1.01
    factories.submission()
    login_as(factories.user(Role.MODERATOR))
    page = client.get("/moderation/dashboard", headers={"Accept-Language": "zh-HK"}).get_data(as_text=True)
    assert page.count('<svg class="chart-svg') == 2 and page.count("<table") == 3
    assert "一小時內" in page
    assert client.get("/moderation/queue").get_data(as_text=True).count('href="/moderation/dashboard"') == 1


def test_only_moderators_and_admins_see_it(app, client, login_as):
    login_as(factories.user(Role.OFFICER, bureau="TLB"))
    assert client.get("/moderation/dashboard").status_code == 403


def test_an_empty_platform_has_a_helpful_dashboard(app, client, login_as):
    login_as(factories.user(Role.ADMIN))
    page = client.get("/moderation/dashboard").get_data(as_text=True)
    assert "Nothing is waiting for review." in page
