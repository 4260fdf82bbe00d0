"""Writing mail: each message joins the transaction of the change it tells about.

A view's changes are audit events, so the outbox subscribes to them *in* their transaction
(`events.on_record`): the change and its message are committed together or not at all, and no
request ever waits for a mail server. Workers send (delivery.py).

Who is written to:
- an address given with a view gets the receipt at once, with a link to confirm that its owner
  wants updates; every later message about the view goes only once that is confirmed
  (`Submission.mail_confirmed_at`; a signed-in resident's own verified address counts as
  confirmed);
- an address that unsubscribed gets nothing but what its owner asks for at that moment (a link
  recovery, an account's verification);
- an address gets at most MAIL_ADDRESS_HOURLY_LIMIT / MAIL_ADDRESS_DAILY_LIMIT messages that a
  stranger can cause (receipts, link recoveries, verifications), so the forms cannot be used to
  flood someone's mailbox; what a bureau or moderator does is not limited.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..extensions import db
from ..kernel import audit, events
from ..kernel.models import (
    OUTBOX_WAITING,
    AuditAction,
    AuditEvent,
    MailSuppression,
    OutboxMessage,
    OutboxStatus,
    Submission,
    User,
    utcnow,
)
from ..kernel.task_queue import enqueue
from ..text import keys

log = logging.getLogger(__name__)


class Kind(StrEnum):
    """What a message says (messages.py has a subject and templates for each)."""

    RECEIPT = "receipt"
    ROUTED = "routed"
    REROUTED = "rerouted"  # routed again after its bureau sent it back
    SENT_BACK = "sent_back"
    ANSWERED = "answered"
    CLOSED = "closed"
    REJECTED = "rejected"
    LINK_RECOVERY = "link_recovery"
    ACCOUNT_VERIFICATION = "account_verification"
    DIGEST = "digest"


# Caused by whoever fills in a form, so counted against the address's limits.
LIMITED = frozenset({Kind.RECEIPT, Kind.LINK_RECOVERY, Kind.ACCOUNT_VERIFICATION})
# Asked for by the address's owner at that moment: sent even to an address that unsubscribed.
ASKED_FOR = frozenset({Kind.LINK_RECOVERY, Kind.ACCOUNT_VERIFICATION})
LOCALES = ("en", "zh_Hant", "zh_Hans")


def normalised(address: str) -> str:
    return address.strip().lower()


def address_hash(address: str, key: str | bytes | None = None) -> str:
    return keys.keyed_hash(key or current_app.secret_key, "mail-address", normalised(address))


def address_hashes(address: str) -> list[str]:
    # Under every key still accepted: an unsubscription made before a key rotation still holds.
    secret_keys = [current_app.secret_key, *(current_app.config.get("SECRET_KEY_FALLBACKS") or [])]
    return [address_hash(address, key) for key in secret_keys]


def is_suppressed(address: str) -> bool:
    return (
        db.session.execute(
            select(MailSuppression.address_hash)
            .where(MailSuppression.address_hash.in_(address_hashes(address)))
            .limit(1)
        ).first()
        is not None
    )


def _over_limit(recipient_hash: str, now: datetime) -> bool:
    """Whether the address has had its hourly or daily share of what strangers can cause: one
    indexed range (recipient_hash, created_at), stopped after the daily limit's rows."""
    config = current_app.config
    hourly, daily = config["MAIL_ADDRESS_HOURLY_LIMIT"], config["MAIL_ADDRESS_DAILY_LIMIT"]
    recent = (
        db.session.execute(
            select(OutboxMessage.created_at)
            .where(
                OutboxMessage.recipient_hash == recipient_hash,
                OutboxMessage.created_at > now - timedelta(days=1),
                OutboxMessage.kind.in_([str(k) for k in LIMITED]),
            )
            .order_by(OutboxMessage.created_at.desc())
            .limit(max(hourly, daily))
        )
        .scalars()
        .all()
    )
    return len(recent) >= daily or sum(moment > now - timedelta(hours=1) for moment in recent) >= hourly


def _message_id(kind: str) -> str:
    sender = current_app.config["MAIL_FROM"]
    domain = sender.rsplit("@", 1)[-1].strip(" >") or "localhost"
    return f"<{uuid.uuid4().hex}.{kind}@{domain}>"


def queue(
    kind: Kind,
    *,
    to: str,
    locale: str,
    submission: Submission | None = None,
    user: User | None = None,
    audit_event: AuditEvent | None = None,
    context: dict[str, Any] | None = None,
    session: Session | None = None,
) -> OutboxMessage | None:
    """Add a message to the caller's transaction; None when the rules above hold it back.

    A message tied to an audit event is sent by the event's delivery; any other is handed to a
    worker once the transaction commits. Either way the outbox's sweep sends what is left."""
    session = session or db.session
    now = utcnow()
    if kind not in ASKED_FOR and is_suppressed(to):
        return None
    recipient_hash = address_hash(to)
    if kind in LIMITED and _over_limit(recipient_hash, now):
        log.warning("mail to one address over its limit: %s not written", kind)
        return None
    message = OutboxMessage(
        message_id=_message_id(kind),
        kind=str(kind),
        locale=locale if locale in LOCALES else "en",
        recipient=normalised(to),
        recipient_hash=recipient_hash,
        submission=submission,
        user_id=user.id if user is not None else None,
        context=context or {},
        status=OutboxStatus.PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    if audit_event is not None:
        message.audit_event = audit_event
    session.add(message)
    if audit_event is None:
        events.after_commit(session, lambda: _hand_to_worker(message))
    return message


def _hand_to_worker(message: OutboxMessage) -> None:
    if message.id is not None:
        enqueue("mail.deliver", message.id)


# --- What each change of a view tells its sender --------------------------------------------

ROUTE_EVENTS = (AuditAction.AUTO_ROUTED, AuditAction.ROUTE_CONFIRMED, AuditAction.ROUTE_CHANGED)
KIND_OF_EVENT = {
    AuditAction.SENT_BACK: Kind.SENT_BACK,
    AuditAction.ANSWERED: Kind.ANSWERED,
    AuditAction.CLOSED: Kind.CLOSED,
    AuditAction.REJECTED: Kind.REJECTED,
}
# Every audit action that may write a message (delivery.py subscribes to the same).
MAIL_EVENTS = (AuditAction.SUBMITTED, *ROUTE_EVENTS, *KIND_OF_EVENT)


def _submission(session: Session, event: AuditEvent) -> Submission | None:
    if event.submission_id is None:
        return None
    return session.get(Submission, event.submission_id)


@events.on_record(AuditAction.SUBMITTED, name="mail.receipt")
def _receipt(session: Session, event: AuditEvent) -> None:
    sub = _submission(session, event)
    if sub is None or not sub.email:
        return
    if sub.user_id is not None and sub.mail_confirmed_at is None:
        user = session.get(User, sub.user_id)
        # The account's own address, proven already: nothing more to confirm.
        if user is not None and user.email_verified_at is not None and normalised(user.email) == normalised(sub.email):
            sub.mail_confirmed_at = utcnow()
    queue(Kind.RECEIPT, to=sub.email, locale=sub.language, submission=sub, audit_event=event, session=session)


@events.on_record(*ROUTE_EVENTS, *KIND_OF_EVENT, name="mail.update")
def _update(session: Session, event: AuditEvent) -> None:
    sub = _submission(session, event)
    if sub is None or not sub.email or sub.mail_confirmed_at is None:
        return
    if event.action in ROUTE_EVENTS:
        kind = Kind.REROUTED if sub.sent_back_by_code else Kind.ROUTED
        context = {"bureau": (event.after or {}).get("bureau_code") or sub.bureau_code}
    else:
        kind = KIND_OF_EVENT[AuditAction(event.action)]
        context = {"reason": sub.rejection_reason} if kind == Kind.REJECTED else {}
        if kind == Kind.ANSWERED:
            context["bureau"] = (event.after or {}).get("bureau_code") or sub.bureau_code
    queue(kind, to=sub.email, locale=sub.language, submission=sub, audit_event=event, context=context, session=session)


# --- Confirming, unsubscribing, forgetting ---------------------------------------------------


def confirm(sub: Submission) -> bool:
    """The sender confirmed updates by e-mail on `sub` (the caller checked the link): True when
    this confirmed it now, False when it was confirmed already."""
    if sub.mail_confirmed_at is not None:
        return False
    sub.mail_confirmed_at = utcnow()
    audit.record(AuditAction.MAIL_CONFIRMED, submission_id=sub.id)
    return True


def unsubscribe(message: OutboxMessage) -> None:
    """No more mail to the address `message` went to, whichever view or account it was about."""
    if db.session.get(MailSuppression, message.recipient_hash) is None:
        db.session.add(MailSuppression(address_hash=message.recipient_hash))
    # What is still waiting for it is not sent either (what its owner asked for excepted).
    db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.recipient_hash == message.recipient_hash,
            OutboxMessage.status.in_(OUTBOX_WAITING),
            OutboxMessage.kind.not_in([str(k) for k in ASKED_FOR]),
        )
        .values(status=OutboxStatus.FAILED, next_attempt_at=None, last_error="unsubscribed")
    )


def erase(addresses: Iterable[str], *, user_id: int | None = None) -> int:
    """Forget these addresses in the outbox (an account deleted): messages stay as counts, to no
    one, with no text; waiting ones are not sent. How many messages were erased."""
    hashes = [h for address in addresses if address for h in address_hashes(address)]
    condition = OutboxMessage.recipient_hash.in_(hashes)
    if user_id is not None:
        condition = condition | (OutboxMessage.user_id == user_id)
    waiting = db.session.execute(
        update(OutboxMessage)
        .where(condition, OutboxMessage.status.in_(OUTBOX_WAITING))
        .values(status=OutboxStatus.FAILED, next_attempt_at=None, last_error="erased")
    ).rowcount
    erased = db.session.execute(update(OutboxMessage).where(condition).values(recipient=None, context={})).rowcount
    return max(erased, waiting)
