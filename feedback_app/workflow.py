"""A submission's life as one state machine.

Every change to a submission's status, route or visibility goes through a function here,
which writes the audit event in the same transaction as the change itself.
"""
from __future__ import annotations

from .extensions import db
from .models import AuditEvent, Status, Submission, User, Visibility

ALLOWED: dict[Status, set[Status]] = {
    Status.RECEIVED: {Status.ROUTED, Status.NEEDS_REVIEW},
    Status.NEEDS_REVIEW: {Status.ROUTED, Status.REJECTED},
    Status.ROUTED: {Status.ANSWERED, Status.NEEDS_REVIEW, Status.CLOSED, Status.ROUTED},
    Status.ANSWERED: {Status.ANSWERED, Status.CLOSED},
    Status.REJECTED: {Status.NEEDS_REVIEW},
    Status.CLOSED: set(),
}

# Statuses in which a submission belongs to a bureau.
WITH_BUREAU = {Status.ROUTED, Status.ANSWERED, Status.CLOSED}


class TransitionNotAllowed(Exception):
    def __init__(self, current: str, target: str):
        super().__init__(f"cannot go from {current} to {target}")
        self.current = current
        self.target = target


def _snapshot(sub: Submission) -> dict:
    return {
        "status": sub.status,
        "area": sub.area_code,
        "bureau": sub.bureau_code,
        "visibility": sub.visibility,
    }


def _audit(sub: Submission, action: str, before: dict, actor: User | None, reason: str | None):
    after = _snapshot(sub)
    db.session.add(
        AuditEvent(
            submission_id=sub.id,
            actor_id=actor.id if actor is not None else None,
            action=action,
            before={k: v for k, v in before.items() if after.get(k) != v} or before,
            after={k: v for k, v in after.items() if before.get(k) != v} or after,
            reason=reason,
        )
    )


def transition(
    sub: Submission,
    to: Status,
    *,
    actor: User | None,
    action: str,
    reason: str | None = None,
    area: str | None = None,
    bureau: str | None = None,
) -> None:
    """Move a submission to status `to`, optionally setting its route, and audit it."""
    current = Status(sub.status)
    if to not in ALLOWED[current]:
        raise TransitionNotAllowed(current, to)
    before = _snapshot(sub)
    if to in WITH_BUREAU:
        if area is not None:
            sub.area_code = area
        if bureau is not None:
            sub.bureau_code = bureau
        if sub.bureau_code is None:
            raise TransitionNotAllowed(current, to)
    elif to == Status.NEEDS_REVIEW:
        # Back in the queue the submission belongs to no bureau until a moderator routes it.
        sub.bureau_code = None
    sub.status = to
    _audit(sub, action, before, actor, reason)


def set_visibility(sub: Submission, visibility: Visibility, *, actor: User, reason: str | None = None):
    before = _snapshot(sub)
    sub.visibility = visibility
    _audit(sub, f"visibility_{visibility}", before, actor, reason)


def record_creation(sub: Submission, action: str, *, actor: User | None, reason: str | None = None):
    """Audit a submission coming into being: nothing before, its first state after."""
    _audit(sub, action, {}, actor, reason)
