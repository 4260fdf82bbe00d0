"""The audit history's one writer: every audit event, whatever it is about, is added here.

An event joins the caller's transaction, so it exists exactly when the change it records does
(kernel/events.py hands it to subscribers once that transaction commits). The history is
append-only (models.AuditEvent refuses updates and deletes) and read by every administrator:
never a password, a hash, a code or a link's token in `before`, `after` or `reason`.
"""

from __future__ import annotations

from typing import Any

from ..extensions import db
from .models import AuditAction, AuditEvent, User


def record(
    action: AuditAction | str,
    *,
    actor: User | None = None,
    actor_id: int | None = None,
    submission_id: int | None = None,
    target_user_id: int | None = None,
    classifier_version_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str | None = None,
) -> AuditEvent:
    """Add one audit event to the session: what was done (`action`, an AuditAction), by whom
    (`actor`, or just its id; None for the system), to what (a view, an account or a classifier
    version), and the fields it changed, before and after."""
    event = AuditEvent(
        submission_id=submission_id,
        target_user_id=target_user_id,
        classifier_version_id=classifier_version_id,
        actor_id=actor.id if actor is not None else actor_id,
        action=AuditAction(action),
        before=before or {},
        after=after or {},
        reason=reason,
    )
    db.session.add(event)
    return event
