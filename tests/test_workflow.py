"""The state machine: only allowed transitions, each with its audit event."""
import pytest
from sqlalchemy import select

from feedback_app import workflow
from feedback_app.extensions import db
from feedback_app.models import AuditEvent, AuditRecordImmutable, Status

from . import factories


def test_a_closed_view_cannot_be_reopened_or_answered(app):
    sub = factories.submission()
    workflow.transition(sub, Status.CLOSED, actor=None, action="closed")
    for target in (Status.ROUTED, Status.ANSWERED, Status.NEEDS_REVIEW):
        with pytest.raises(workflow.TransitionNotAllowed):
            workflow.transition(sub, target, actor=None, action="test")


def test_routing_needs_a_bureau(app):
    app.config["ROUTING_BUREAU_THRESHOLD"] = 1.01
    sub = factories.submission()
    with pytest.raises(workflow.TransitionNotAllowed):
        workflow.transition(sub, Status.ROUTED, actor=None, action="test")


def test_each_transition_writes_before_and_after(app):
    sub = factories.submission()
    db.session.commit()
    workflow.transition(sub, Status.NEEDS_REVIEW, actor=None, action="sent_back", reason="wrong bureau")
    db.session.commit()
    event = db.session.execute(select(AuditEvent).order_by(AuditEvent.id.desc())).scalars().first()
    assert event.before == {"status": "routed", "bureau": "TLB"}
    assert event.after == {"status": "needs_review", "bureau": None}
    assert event.reason == "wrong bureau"


def test_orm_refuses_to_change_an_audit_event(app):
    factories.submission()
    event = db.session.execute(select(AuditEvent)).scalars().first()
    event.action = "forged"
    with pytest.raises(AuditRecordImmutable):
        db.session.commit()
    db.session.rollback()
