"""The mail outbox for administrators: what is waiting, sent and failed, and sending a failed
message again (audited). Addresses are shown half-hidden: enough to recognise one, not to copy it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from ..extensions import db
from ..kernel import audit
from ..kernel.database import write_transaction
from ..kernel.models import AuditAction, OutboxMessage, OutboxStatus, Submission, User
from ..mail import delivery, outbox
from ..web.pagination import KeysetPage, keyset_page

TABS = (OutboxStatus.PENDING, OutboxStatus.SENT, OutboxStatus.FAILED)


@dataclass(frozen=True)
class OutboxRow:
    id: int
    kind: str
    locale: str
    recipient: str  # half-hidden
    reference: str | None
    status: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    sent_at: datetime | None
    error: str | None


def hidden(address: str | None) -> str:
    """ "ch***@ex***.org": the first letters of each part, the rest hidden."""
    if not address:
        return "—"
    local, _at, domain = address.partition("@")
    name, _dot, top = domain.rpartition(".")
    return f"{local[:2]}***@{name[:2]}***.{top}" if name else f"{local[:2]}***@{domain[:2]}***"


def counts() -> dict[str, int]:
    rows = db.session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).tuples()
    found = dict(rows.all())
    # "Waiting" covers messages a worker holds at this moment too.
    return {
        OutboxStatus.PENDING: found.get(OutboxStatus.PENDING, 0) + found.get(OutboxStatus.SENDING, 0),
        OutboxStatus.SENT: found.get(OutboxStatus.SENT, 0),
        OutboxStatus.FAILED: found.get(OutboxStatus.FAILED, 0),
    }


def page(status: str, *, address: str | None, after: int | None, size: int) -> KeysetPage[OutboxRow]:
    statuses = list(outbox.OUTBOX_WAITING) if status == OutboxStatus.PENDING else [status]
    stmt = select(OutboxMessage).where(OutboxMessage.status.in_(statuses))
    if address:
        stmt = stmt.where(OutboxMessage.recipient_hash.in_(outbox.address_hashes(address)))
    found = keyset_page(stmt, OutboxMessage.id, after=after, size=size, newest_first=True)
    references = dict(
        db.session.execute(
            select(Submission.id, Submission.reference).where(
                Submission.id.in_({m.submission_id for m in found.items if m.submission_id})
            )
        ).all()
    )
    rows = [
        OutboxRow(
            m.id,
            m.kind,
            m.locale,
            hidden(m.recipient),
            references.get(m.submission_id) if m.submission_id else None,
            m.status,
            m.attempts,
            m.created_at,
            m.next_attempt_at,
            m.sent_at,
            m.last_error,
        )
        for m in found.items
    ]
    return KeysetPage(rows, found.next_after, found.is_first)


def retry(message_id: int, admin: User) -> bool:
    """Send a failed message again from its first try; False when it is not a failed message
    (sent meanwhile, or erased: an erased message has no one to go to)."""
    with write_transaction():
        message = db.session.get(OutboxMessage, message_id, with_for_update=True)
        if message is None or message.status != OutboxStatus.FAILED or message.recipient is None:
            return False
        audit.record(
            AuditAction.MAIL_RETRIED,
            actor=admin,
            submission_id=message.submission_id,
            before={"message": message.id, "attempts": message.attempts},
            after={"message": message.id, "attempts": 0},
        )
        delivery.retry(message)
    return True
