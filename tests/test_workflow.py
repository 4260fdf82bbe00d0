"""The state machine: one table decides what a view allows; every change has its audit event."""

import re
from pathlib import Path

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from feedback_app.extensions import db
from feedback_app.kernel import workflow
from feedback_app.kernel.models import (
    AuditAction,
    AuditEvent,
    AuditRecordImmutable,
    RejectionReason,
    Role,
    Status,
    Submission,
    Visibility,
)
from feedback_app.kernel.workflow import Action
from feedback_app.moderation import services as moderation
from feedback_app.web import i18n

from . import factories
from .conftest import csrf_token

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def _view(status: Status, visibility: Visibility = Visibility.PENDING) -> Submission:
    return Submission(status=status, visibility=visibility)


@pytest.mark.parametrize(
    "status, visibility, role, expected",
    [
        (
            Status.NEEDS_REVIEW,
            Visibility.PENDING,
            Role.MODERATOR,
            {"route", "reject", "publish", "hide", "edit_public_text"},
        ),
        (Status.RECEIVED, Visibility.PENDING, Role.ADMIN, {"route", "reject", "publish", "hide", "edit_public_text"}),
        (Status.ROUTED, Visibility.PUBLISHED, Role.MODERATOR, {"route", "hide", "edit_public_text"}),
        (Status.ANSWERED, Visibility.HIDDEN, Role.MODERATOR, {"publish", "edit_public_text"}),
        # A rejected view offers only to reopen it: no route form that would always fail, no publishing.
        (Status.REJECTED, Visibility.HIDDEN, Role.MODERATOR, {"reopen"}),
        (Status.ROUTED, Visibility.PENDING, Role.OFFICER, {"assign", "note", "invite", "answer", "send_back", "close"}),
        (
            Status.IN_PROGRESS,
            Visibility.PENDING,
            Role.OFFICER,
            {"assign", "note", "invite", "answer", "send_back", "close"},
        ),
        (Status.ANSWERED, Visibility.PUBLISHED, Role.OFFICER, {"note", "invite", "answer", "close"}),
        # Closed: notes only (reopening needs a recent closing date: test_bureau_workspace.py)
        (Status.CLOSED, Visibility.PUBLISHED, Role.OFFICER, {"note"}),
        (Status.IN_PROGRESS, Visibility.PUBLISHED, Role.MODERATOR, {"route", "hide", "edit_public_text"}),
        (Status.NEEDS_REVIEW, Visibility.PENDING, Role.OFFICER, set()),
        (Status.ROUTED, Visibility.PENDING, Role.RESIDENT, set()),
    ],
)
def test_one_table_says_which_decisions_a_view_allows(status, visibility, role, expected):
    assert workflow.allowed_actions(_view(status, visibility), role) == expected


@pytest.mark.parametrize(
    "status, expected",
    [
        (Status.ROUTED, {"note", "answer_part"}),
        (Status.ANSWERED, {"note", "answer_part"}),
        (Status.CLOSED, {"note"}),
    ],
)
def test_an_invited_bureau_may_add_its_part_and_notes_only(status, expected):
    assert workflow.allowed_actions(_view(status), Role.OFFICER, partner=True) == expected
    assert workflow.allowed_actions(_view(status), Role.MODERATOR, partner=True) == set()


def test_every_state_decision_and_audit_action_has_a_label_in_each_language(app):
    named = {
        "status": (i18n.STATUS_LABELS, Status),
        "visibility": (i18n.VISIBILITY_LABELS, Visibility),
        "decision": (i18n.DECISION_LABELS, Action),
        "audit action": (i18n.ACTION_LABELS, AuditAction),
    }
    for what, (labels, enum) in named.items():
        assert set(labels) == {member.value for member in enum}, what
        for code, label in labels.items():
            with force_locale("zh_Hant"):
                chinese = str(label)
            with force_locale("en"):
                english = str(label)
            assert english and chinese != english, f"{what} {code} has no Chinese label"


@pytest.mark.parametrize(
    "template",
    sorted(
        str(p.relative_to(TEMPLATES))
        for folder in ("moderation", "bureau")
        for p in (TEMPLATES / folder).glob("*.html")
    )
    + ["_macros.html", "_submission.html"],
)
def test_no_staff_template_decides_on_its_own_what_a_view_allows(template):
    text = (TEMPLATES / template).read_text(encoding="utf-8")
    conditions = re.findall(r"{%-?\s*(?:if|elif)\b(.*?)%}", text)
    deciding = [c for c in conditions if re.search(r"\bsub\.(status|visibility)\b", c)]
    assert not deciding, f"{template} decides on a view's state itself: {deciding}; use `allowed`"


def test_the_services_refuse_what_the_table_refuses(app):
    moderator, officer = factories.user(Role.MODERATOR), factories.user(Role.OFFICER, bureau="TLB")
    sub = factories.submission()
    assert sub.status == Status.ROUTED
    with pytest.raises(workflow.TransitionNotAllowed):
        workflow.decide(sub, Action.REOPEN, actor=moderator, audit=AuditAction.REOPENED)
    with pytest.raises(workflow.TransitionNotAllowed):
        workflow.decide(sub, Action.ROUTE, actor=officer, audit=AuditAction.ROUTE_CHANGED, bureau="HHB")
    db.session.rollback()


def test_routing_needs_a_bureau(app):
    app.config["ROUTING_BUREAU_THRESHOLD"] = 1.01
    sub = factories.submission()
    assert sub.status == Status.NEEDS_REVIEW and sub.bureau_code is None
    with pytest.raises(workflow.TransitionNotAllowed):
        workflow.automatic(sub, Status.ROUTED, audit=AuditAction.AUTO_ROUTED)  # no longer "received" either
    sub.status = Status.RECEIVED
    with pytest.raises(workflow.TransitionNotAllowed):
        workflow.automatic(sub, Status.ROUTED, audit=AuditAction.AUTO_ROUTED)
    db.session.rollback()


def test_each_decision_writes_before_and_after(app):
    officer = factories.user(Role.OFFICER, bureau="TLB")
    sub = factories.submission()
    db.session.commit()
    workflow.decide(sub, Action.SEND_BACK, actor=officer, audit=AuditAction.SENT_BACK, reason="wrong bureau")
    db.session.commit()
    event = db.session.execute(select(AuditEvent).order_by(AuditEvent.id.desc())).scalars().first()
    assert event.action == AuditAction.SENT_BACK and event.actor_id == officer.id
    assert event.before == {"status": "routed", "bureau": "TLB"}
    assert event.after == {"status": "needs_review", "bureau": None}
    assert event.reason == "wrong bureau"


def test_a_moderator_reopens_a_rejected_view_and_can_route_it_again(app, client, login_as):
    moderator = factories.user(Role.MODERATOR)
    app.config["ROUTING_BUREAU_THRESHOLD"] = 1.01
    sub = factories.submission()
    moderation.reject(sub.id, reason=RejectionReason.OFF_TOPIC, note=None, actor=moderator, version=sub.version)
    db.session.refresh(sub)
    login_as(moderator)
    page = client.get(f"/moderation/submissions/{sub.id}").get_data(as_text=True)
    assert "Reopen for review" in page and "Route to this bureau" not in page and "Save visibility" not in page
    done = client.post(
        f"/moderation/submissions/{sub.id}/reopen",
        follow_redirects=True,
        data={
            "csrf_token": csrf_token(page),
            "version": sub.version,
            "note": "Rejected by mistake",
        },
    )
    assert "back in the review queue" in done.get_data(as_text=True)
    db.session.refresh(sub)
    assert (sub.status, sub.rejection_reason) == (Status.NEEDS_REVIEW, None)
    event = db.session.execute(select(AuditEvent).order_by(AuditEvent.id.desc())).scalars().first()
    assert (event.action, event.reason) == (AuditAction.REOPENED, "Rejected by mistake")
    assert (event.before, event.after) == (
        {"status": "rejected", "rejection_reason": "off_topic"},
        {"status": "needs_review", "rejection_reason": None},
    )
    assert "Route to this bureau" in done.get_data(as_text=True)


def test_the_history_names_a_rejections_reason_in_the_readers_language(app, client, login_as):
    moderator = factories.user(Role.MODERATOR)
    app.config["ROUTING_BUREAU_THRESHOLD"] = 1.01
    sub = factories.submission()
    moderation.reject(sub.id, reason=RejectionReason.SPAM, note="An advert", actor=moderator, version=sub.version)
    login_as(moderator)
    page = client.get(f"/moderation/submissions/{sub.id}", headers={"Accept-Language": "zh-HK"}).get_data(as_text=True)
    history = page[page.index('class="history"') :]
    assert "垃圾訊息" in history and "An advert" in history and "spam" not in history


def test_a_view_never_routed_can_be_rejected(app):
    moderator = factories.user(Role.MODERATOR)
    sub = factories.submission()
    sub.status, sub.bureau_code = Status.RECEIVED, None  # its routing task never ran
    db.session.commit()
    moderation.reject(sub.id, reason=RejectionReason.SPAM, note=None, actor=moderator, version=sub.version)
    db.session.refresh(sub)
    assert sub.status == Status.REJECTED


def test_a_decision_the_view_no_longer_allows_is_refused_and_writes_nothing(app, client, login_as):
    moderator = factories.user(Role.MODERATOR)
    app.config["ROUTING_BUREAU_THRESHOLD"] = 1.01
    sub = factories.submission()
    login_as(moderator)
    page = client.get(f"/moderation/submissions/{sub.id}").get_data(as_text=True)
    moderation.reject(sub.id, reason=RejectionReason.SPAM, note=None, actor=moderator, version=sub.version)
    db.session.refresh(sub)
    events = db.session.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
    # The route form of the page opened before the rejection, sent with the view's current version.
    answer = client.post(
        f"/moderation/submissions/{sub.id}/route",
        follow_redirects=True,
        data={
            "csrf_token": csrf_token(page),
            "version": sub.version,
            "area": "mobility",
            "bureau": "TLB",
        },
    )
    assert "not possible for a view in this state" in answer.get_data(as_text=True)
    assert db.session.execute(select(func.count()).select_from(AuditEvent)).scalar_one() == events


def test_orm_refuses_to_change_an_audit_event(app):
    factories.submission()
    event = db.session.execute(select(AuditEvent)).scalars().first()
    event.action = "forged"
    with pytest.raises(AuditRecordImmutable):
        db.session.commit()
    db.session.rollback()
