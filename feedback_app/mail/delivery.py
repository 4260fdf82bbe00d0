"""Sending the outbox: workers claim each message, send it over SMTP, and write down how it went.

A message is sent by the delivery of the event that wrote it (it subscribes like routing does),
or by the `mail.deliver` task queued when a message with no event is committed, and in any case
by the minute sweep, which also retries failures after a growing delay (RETRY_DELAYS); after the
last try the message is "failed" and waits on the administrators' outbox page.

The promise (README): at least once. A message is claimed for LEASE before it is sent and marked
sent after the server accepted it; a worker that dies between the two leaves the claim to run
out, and the message is sent again, with the same Message-ID, so a mail client shows one.
Without SMTP_HOST, messages are written to the log instead of sent (a first run needs no server).
"""

from __future__ import annotations

import functools
import logging
import smtplib
import ssl
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Protocol

from flask import current_app
from huey import crontab
from sqlalchemy import bindparam, select, text, update

from ..extensions import db
from ..kernel import events
from ..kernel.database import write_transaction
from ..kernel.models import OUTBOX_WAITING, OutboxMessage, OutboxStatus, UTCDateTime
from ..kernel.task_queue import enqueue, huey, in_app_context, named
from . import messages, outbox

log = logging.getLogger(__name__)

# A claimed message not marked within this long was lost with its worker: it is sent again.
LEASE = timedelta(minutes=5)
# The wait after the 1st, 2nd, ... failed try: eleven tries over about 16 hours.
RETRY_DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=2),
    timedelta(minutes=5),
    timedelta(minutes=10),
    timedelta(minutes=20),
    timedelta(minutes=40),
    timedelta(hours=1),
    timedelta(hours=2),
    timedelta(hours=4),
    timedelta(hours=8),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
SWEEP_BATCH = 200


class Transport(Protocol):
    def send(self, message: EmailMessage) -> None: ...


class LogTransport:
    """No SMTP_HOST: the message goes to the worker's log (`make run`), whole, to be read there."""

    def send(self, message: EmailMessage) -> None:
        body = message.get_body(("plain",))
        text_part = body.get_content() if body is not None else ""
        # A warning, so that the worker prints it even when quiet (`make run`): in production
        # no SMTP_HOST is a mistake worth seeing.
        log.warning(
            "mail not sent (no SMTP_HOST set); it would have been:\nTo: %s\nSubject: %s\nMessage-ID: %s\n\n%s",
            message["To"],
            message["Subject"],
            message["Message-ID"],
            text_part,
        )


class SMTPTransport:
    def __init__(self, connection: smtplib.SMTP) -> None:
        self.connection = connection

    def send(self, message: EmailMessage) -> None:
        self.connection.send_message(message)


@contextmanager
def transport() -> Iterator[Transport]:
    """One connection for a batch of messages (opened on first use)."""
    config = current_app.config
    if not config.get("SMTP_HOST"):
        yield LogTransport()
        return
    connection = _LazySMTP(config)
    try:
        yield connection
    finally:
        connection.close()


@functools.cache
def _tls_context() -> ssl.SSLContext:
    # Made once per process: loading the system's certificates takes tens of milliseconds.
    return ssl.create_default_context()


class _LazySMTP:
    def __init__(self, config: dict) -> None:
        self.config = config
        self.connection: smtplib.SMTP | None = None

    def _open(self) -> smtplib.SMTP:
        c = self.config
        if c["SMTP_SSL"]:
            connection: smtplib.SMTP = smtplib.SMTP_SSL(
                c["SMTP_HOST"], c["SMTP_PORT"], timeout=c["SMTP_TIMEOUT"], context=_tls_context()
            )
        else:
            connection = smtplib.SMTP(c["SMTP_HOST"], c["SMTP_PORT"], timeout=c["SMTP_TIMEOUT"])
            if c["SMTP_STARTTLS"]:
                connection.starttls(context=_tls_context())
        if c.get("SMTP_USERNAME"):
            connection.login(c["SMTP_USERNAME"], c.get("SMTP_PASSWORD") or "")
        return connection

    def send(self, message: EmailMessage) -> None:
        if self.connection is None:
            self.connection = self._open()
        try:
            self.connection.send_message(message)
        except (smtplib.SMTPServerDisconnected, OSError):
            self.close()  # the next message opens a new connection
            raise

    def close(self) -> None:
        if self.connection is not None:
            try:
                self.connection.quit()
            except (smtplib.SMTPException, OSError):
                pass
            self.connection = None


def email_for(message: OutboxMessage, rendered: messages.Rendered) -> EmailMessage:
    email = EmailMessage()
    email["From"] = current_app.config["MAIL_FROM"]
    email["To"] = message.recipient or ""
    email["Subject"] = rendered.subject
    email["Message-ID"] = message.message_id
    email["Date"] = format_datetime(message.created_at.astimezone(UTC))
    # RFC 8058 one-click unsubscribe: a mail client POSTs the second header's body to the link.
    email["List-Unsubscribe"] = f"<{rendered.unsubscribe_url}>"
    email["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    email["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies, please
    email.set_content(rendered.text)
    email.add_alternative(rendered.html, subtype="html")
    # After the content: setting the content clears the Content-* headers.
    email["Content-Language"] = {"en": "en", "zh_Hant": "zh-Hant-HK", "zh_Hans": "zh-Hans"}.get(message.locale, "en")
    return email


_CLAIM = text(
    "UPDATE outbox_message SET status = 'sending', attempts = attempts + 1, next_attempt_at = :lease "
    "WHERE id = :id AND status IN ('pending', 'sending') AND next_attempt_at <= :now RETURNING attempts"
).bindparams(bindparam("lease", type_=UTCDateTime()), bindparam("now", type_=UTCDateTime()))


# The server answers again: a message waiting out a failure's delay goes now (never one that a
# worker holds: its lease still runs).
_CLAIM_EARLY = text(
    "UPDATE outbox_message SET status = 'sending', attempts = attempts + 1, next_attempt_at = :lease "
    "WHERE id = :id AND status = 'pending' RETURNING attempts"
).bindparams(bindparam("lease", type_=UTCDateTime()))


def _claim(message_id: int, now: datetime, *, early: bool = False) -> int | None:
    """Take the message for LEASE; its try number, or None when it is not due (sent, failed,
    claimed by another worker, or waiting out a failure's delay unless `early`)."""
    statement, values = (_CLAIM_EARLY, {}) if early else (_CLAIM, {"now": now})
    with write_transaction():
        return db.session.execute(statement, {"id": message_id, "lease": now + LEASE, **values}).scalar_one_or_none()


def _permanent(exc: Exception) -> bool:
    # The server refused the address itself (5xx): trying again would not change its answer.
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _msg in exc.recipients.values())
    return isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code >= 500 and exc.smtp_code != 554


def send(ids: Iterable[int], now: datetime | None = None, *, early: bool = False) -> int:
    """Send these messages where they are due (`early`: waiting out a delay too); how many were sent."""
    sent = 0
    with transport() as channel:
        for message_id in ids:
            sent += _send_one(channel, message_id, now or datetime.now(UTC), early=early)
    return sent


def _send_one(channel: Transport, message_id: int, now: datetime, *, early: bool = False) -> bool:
    attempt = _claim(message_id, now, early=early)
    if attempt is None:
        return False
    message = db.session.get(OutboxMessage, message_id, populate_existing=True)
    if message is None or message.recipient is None:
        _mark(message_id, status=OutboxStatus.FAILED, next_attempt_at=None, last_error="no recipient")
        return False
    try:
        email = email_for(message, messages.render(message))
        db.session.rollback()  # end the read before talking to the server
        channel.send(email)
    except Exception as exc:  # noqa: BLE001 - any failure is this message's own: it is tried again
        db.session.rollback()
        _failed(message_id, attempt, exc, now)
        return False
    _mark(message_id, status=OutboxStatus.SENT, sent_at=datetime.now(UTC), next_attempt_at=None, last_error=None)
    return True


def _failed(message_id: int, attempt: int, exc: Exception, now: datetime) -> None:
    error = f"{type(exc).__name__}: {exc}"[:2000]
    if attempt >= MAX_ATTEMPTS or _permanent(exc):
        log.error("mail message %s failed for good after %d tries: %s", message_id, attempt, error)
        _mark(message_id, status=OutboxStatus.FAILED, next_attempt_at=None, last_error=error)
        return
    delay = RETRY_DELAYS[attempt - 1]
    log.warning("mail message %s failed (try %d), trying again in %s: %s", message_id, attempt, delay, error)
    # From the sweep's moment, the same clock its claim used.
    _mark(message_id, status=OutboxStatus.PENDING, next_attempt_at=now + delay, last_error=error)


def _mark(message_id: int, **values: object) -> None:
    with write_transaction():
        db.session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id).values(**values))


def due(now: datetime, limit: int = SWEEP_BATCH) -> list[int]:
    """Messages whose (next) try is due, oldest first: new ones, retries, lost claims."""
    ids = list(
        db.session.execute(
            select(OutboxMessage.id)
            .where(OutboxMessage.status.in_(OUTBOX_WAITING), OutboxMessage.next_attempt_at <= now)
            .order_by(OutboxMessage.next_attempt_at)
            .limit(limit)
        ).scalars()
    )
    db.session.rollback()
    return ids


def waiting_out_a_delay(now: datetime, limit: int = SWEEP_BATCH) -> list[int]:
    """Messages a failure put off until later, soonest first."""
    ids = list(
        db.session.execute(
            select(OutboxMessage.id)
            .where(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.next_attempt_at > now)
            .order_by(OutboxMessage.next_attempt_at)
            .limit(limit)
        ).scalars()
    )
    db.session.rollback()
    return ids


def send_due(now: datetime | None = None) -> int:
    """The sweep: what is due; and once the server has taken one, what waited for it (a server
    back after an outage gets the backlog within a minute, not at each message's next try)."""
    now = now or datetime.now(UTC)
    sent = send(due(now), now)
    if sent:
        sent += send(waiting_out_a_delay(now), now, early=True)
    return sent


@events.subscribe(*outbox.MAIL_EVENTS, name="mail.send")
def send_for_event(event: events.Event) -> None:
    """The change was committed: send the messages it wrote (their failures are retried by the
    outbox, not by the event's delivery)."""
    ids = list(
        db.session.execute(
            select(OutboxMessage.id).where(
                OutboxMessage.audit_event_id == event.id, OutboxMessage.status == OutboxStatus.PENDING
            )
        ).scalars()
    )
    db.session.rollback()
    if ids:
        send(ids)


@named("mail.deliver")
@huey.task()  # type: ignore[untyped-decorator]  # huey has no type information
@in_app_context
def deliver(message_id: int) -> None:
    send([message_id])


@huey.periodic_task(crontab(minute="*"))  # type: ignore[untyped-decorator]  # huey has no type information
@in_app_context
def sweep_outbox() -> int:
    return send_due()


def retry(message: OutboxMessage) -> None:
    """An administrator sends a failed message again: from its first try, at once."""
    message.status = OutboxStatus.PENDING
    message.attempts = 0
    message.next_attempt_at = datetime.now(UTC)
    events.after_commit(db.session, lambda: enqueue("mail.deliver", message.id))
