"""Business rules a page and an API share, called as services without a request: a moderator's
decision made for a whole campaign, and a resident's sending recognised when it is sent again."""

from __future__ import annotations

from sqlalchemy import func, select

from feedback_app.extensions import db
from feedback_app.intake import services as intake
from feedback_app.kernel.models import AuditAction, AuditEvent, RejectionReason, Role, Status, Submission
from feedback_app.moderation import services as moderation

from . import factories
from .test_campaigns import COPIES, SAME_TOPIC


def _waiting_campaign(app) -> list[Submission]:
    app.config.update(CAMPAIGNS=True, ROUTING_BUREAU_THRESHOLD=1.01)  # grouped; everything waits for review
    copies = [factories.submission(body) for body in COPIES]
    db.session.expire_all()
    return [db.session.get(Submission, sub.id) for sub in copies]


def _status(sub_id: int) -> str:
    return db.session.get(Submission, sub_id, populate_existing=True).status


def test_a_rejection_for_the_whole_campaign_rejects_every_waiting_copy(app):
    copies = _waiting_campaign(app)
    moderator = factories.user(Role.MODERATOR)
    outcome = moderation.reject(
        copies[0].id,
        reason=RejectionReason.DUPLICATE,
        note="Sent three times",
        actor=moderator,
        version=copies[0].version,
        whole_campaign=True,
    )
    assert sorted(outcome.decided) == sorted(c.reference for c in copies[1:])
    assert outcome.refused == [] and outcome.stale == []
    assert all(_status(c.id) == Status.REJECTED for c in copies)
    notes = dict(
        db.session.execute(
            select(AuditEvent.submission_id, AuditEvent.reason).where(AuditEvent.action == AuditAction.REJECTED)
        )
        .tuples()
        .all()
    )
    assert notes == {copies[0].id: "Sent three times", copies[1].id: None, copies[2].id: None}  # the note was about one


def test_a_route_for_the_whole_campaign_leaves_copies_decided_meanwhile(app):
    copies = _waiting_campaign(app)
    moderator, other = factories.user(Role.MODERATOR), factories.user(Role.MODERATOR)
    moderation.reject(copies[2].id, reason=RejectionReason.SPAM, note=None, actor=other, version=copies[2].version)
    outcome = moderation.route(
        copies[0].id, area="mobility", bureau="TLB", actor=moderator, version=copies[0].version, whole_campaign=True
    )
    assert outcome.decided == [copies[1].reference]  # the rejected copy no longer waits: not a copy to decide
    assert [_status(c.id) for c in copies] == [Status.ROUTED, Status.ROUTED, Status.REJECTED]
    assert db.session.get(Submission, copies[1].id).bureau_code == "TLB"


def test_a_decision_for_one_view_alone_leaves_its_copies_waiting(app):
    copies = _waiting_campaign(app)
    outcome = moderation.route(
        copies[0].id, area="mobility", bureau="TLB", actor=factories.user(Role.MODERATOR), version=copies[0].version
    )
    assert outcome is None
    assert [_status(c.id) for c in copies[1:]] == [Status.NEEDS_REVIEW, Status.NEEDS_REVIEW]


def test_a_view_in_no_campaign_decides_for_no_copies(app):
    app.config["ROUTING_BUREAU_THRESHOLD"] = 1.01
    sub = factories.submission(SAME_TOPIC)
    version = db.session.get(Submission, sub.id, populate_existing=True).version
    assert (
        moderation.route(
            sub.id,
            area="mobility",
            bureau="TLB",
            actor=factories.user(Role.MODERATOR),
            version=version,
            whole_campaign=True,
        )
        is None
    )


# --- A resident's sending, recognised when sent again ----------------------------------------


def _data(body: str = factories.TRANSPORT_VIEW) -> intake.NewSubmission:
    init = factories.initiative()
    return intake.NewSubmission(body=body, language="en", topic_area=init.area_code, initiative_id=init.id)


def _count() -> int:
    return db.session.execute(select(func.count()).select_from(Submission)).scalar_one()


def test_the_same_text_sent_from_a_new_form_is_the_earlier_view(app):
    first = intake.send(_data(), user=None, form_token=intake.new_form_token(), recent=None)
    assert not first.receipt.already_sent and len(first.recent) == 1
    # Back fetched the form again (a new token) and the browser refilled the text, spaced differently.
    again = intake.send(
        _data("  " + factories.TRANSPORT_VIEW.replace(" ", "  ")),
        user=None,
        form_token=intake.new_form_token(),
        recent=first.recent,
    )
    assert again.receipt.submission_id == first.receipt.submission_id
    assert again.receipt.tracking_token == first.receipt.tracking_token
    assert again.recent == first.recent and _count() == 1


def test_a_form_sent_twice_is_its_first_sending_and_is_not_remembered_again(app):
    token = intake.new_form_token()
    first = intake.send(_data(), user=None, form_token=token, recent=None)
    again = intake.send(_data("Edited after Back."), user=None, form_token=token, recent={})
    assert again.receipt.already_sent and again.receipt.submission_id == first.receipt.submission_id
    assert again.recent == {} and _count() == 1


def test_another_text_is_a_new_view_and_only_the_latest_sendings_are_remembered(app):
    recent = None
    for n in range(intake.RECENT_SENDINGS_KEPT + 2):
        recent = intake.send(
            _data(f"{factories.TRANSPORT_VIEW} Day {n}."), user=None, form_token=intake.new_form_token(), recent=recent
        ).recent
    assert _count() == intake.RECENT_SENDINGS_KEPT + 2
    assert len(recent) == intake.RECENT_SENDINGS_KEPT
    assert intake.content_fingerprint(_data(f"{factories.TRANSPORT_VIEW} Day 0.")) not in recent
