"""Events after commit: a change of state is announced to whoever subscribed, once it is committed.

The event log is the audit log. Every change of state already writes its AuditEvent in the same
transaction as the change (workflow.py, the account and classifier services), so an event exists
exactly when its change does: a rolled-back change leaves no event. Its name is the audit action
("submitted", "visibility_published", ...).

    @events.subscribe(AuditAction.SUBMITTED, name="routing.route")
    def route(event: events.Event) -> None: ...

Once the session commits, each new audit event that has subscribers is handed to the worker (the
`deliver_event` task), which runs every subscribed handler. No service calls mail, rollups or
feeds itself: they subscribe (Signalen's signals sent on commit are the model).

Delivery state is kept per (event, handler) in event_delivery (migration 0017):

- a handler runs once per committed change: it claims its row before it runs (a lease), and a
  delivered row is never run again, whoever brings the event again (a second task, the sweep);
- a handler that raises is retried with a growing delay (RETRY_DELAYS), up to MAX_ATTEMPTS; the
  change itself is committed already and stays, and the other handlers are not run again;
- the periodic sweep (`sweep_events`, every minute) delivers what is due: retries whose time has
  come, claims whose worker died (lease over), and events no task was queued for (the queue was
  down at commit time, or lost the task) once they are SWEEP_AFTER old, within SWEEP_WINDOW and
  after the handler's first delivery (a new handler is not handed the past).

Handlers, like every task, must be safe to run twice: a worker can die after a handler did its
work and before its delivery was written down.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from huey import crontab
from sqlalchemy import ForeignKey, Index, String, Text, and_, bindparam, exists, func, select, text, update
from sqlalchemy import event as orm_event
from sqlalchemy.orm import Mapped, Session, SessionTransaction, mapped_column

from ..extensions import db
from .database import write_transaction
from .models import AuditEvent, Model, UTCDateTime
from .task_queue import huey, in_app_context

log = logging.getLogger(__name__)

# A claimed delivery not finished within this long was lost with its worker: it may be tried again.
LEASE = timedelta(minutes=10)
# The wait after the 1st, 2nd, ... failure of a handler on one event (the last one repeats).
RETRY_DELAYS = (
    timedelta(seconds=10),
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
)
MAX_ATTEMPTS = 6
# An event younger than this is left to its own task; older ones without a delivery are swept.
SWEEP_AFTER = timedelta(minutes=2)
# How far back the sweep looks for events no delivery was ever tried for.
SWEEP_WINDOW = timedelta(days=1)
SWEEP_BATCH = 200


class EventDelivery(Model):
    """Where handing one event to one handler stands (see the module's docstring)."""

    __tablename__ = "event_delivery"

    # Handler first: a handler's earliest delivery (where the sweep starts for it) is one probe.
    handler: Mapped[str] = mapped_column(String(100), primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("audit_event.id"), primary_key=True)
    attempts: Mapped[int] = mapped_column(default=0)
    # When it may be tried (again): the end of a claim's lease, or of a failure's wait. None once
    # delivered, or given up after MAX_ATTEMPTS.
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index(
            "ix_event_delivery_due",
            "next_attempt_at",
            postgresql_where=text("next_attempt_at IS NOT NULL"),
            sqlite_where=text("next_attempt_at IS NOT NULL"),
        ),
    )


# The sweep looks for recent events of the subscribed kinds: one range per kind (migration 0017).
Index("ix_audit_event_action_created_at", AuditEvent.action, AuditEvent.created_at)


@dataclass(frozen=True)
class Event:
    """A committed change, as handlers receive it (the audit event's fields)."""

    id: int
    name: str
    submission_id: int | None
    target_user_id: int | None
    classifier_version_id: int | None
    actor_id: int | None
    before: dict[str, Any]
    after: dict[str, Any]
    reason: str | None
    created_at: datetime

    @classmethod
    def of(cls, row: AuditEvent) -> Event:
        return cls(
            row.id,
            row.action,
            row.submission_id,
            row.target_user_id,
            row.classifier_version_id,
            row.actor_id,
            dict(row.before or {}),
            dict(row.after or {}),
            row.reason,
            row.created_at,
        )


@dataclass(frozen=True)
class Handler:
    name: str  # stable: delivery state is kept under it
    events: frozenset[str]
    run: Callable[[Event], None]


_handlers: dict[str, Handler] = {}
# Run in the recording transaction itself (see `on_record`): event name -> [(name, function)].
_recorders: dict[str, list[tuple[str, Callable[[Session, AuditEvent], None]]]] = {}


def subscribe(*names: str, name: str) -> Callable[[Callable[[Event], None]], Callable[[Event], None]]:
    """Run the decorated function for every committed event of these names, in a worker.

    `name` identifies the handler in the delivery state: keep it when the function moves."""

    def register(func: Callable[[Event], None]) -> Callable[[Event], None]:
        if name in _handlers and _handlers[name].run is not func:
            raise ValueError(f"two handlers named {name!r}")
        _handlers[name] = Handler(name, frozenset(str(n) for n in names), func)
        return func

    return register


def on_record(
    *names: str, name: str
) -> Callable[[Callable[[Session, AuditEvent], None]], Callable[[Session, AuditEvent], None]]:
    """Run the decorated function in the very transaction that records an event of these names,
    as the event is flushed: for what must be written with the change or not at all (the mail
    outbox, feedback_app/mail/). It may add rows to the session; it must not flush or commit,
    and whatever it raises undoes the change. Keep it to a few cheap statements."""

    def register(func: Callable[[Session, AuditEvent], None]) -> Callable[[Session, AuditEvent], None]:
        for event_name in names:
            listed = _recorders.setdefault(str(event_name), [])
            listed[:] = [(n, f) for n, f in listed if n != name] + [(name, func)]
        return func

    return register


@orm_event.listens_for(Session, "before_flush")
def _record(session: Session, _context: object, _instances: object) -> None:
    if not _recorders:
        return
    for obj in list(session.new):
        if isinstance(obj, AuditEvent) and obj.action in _recorders:
            for _name, func in _recorders[obj.action]:
                func(session, obj)


_AFTER_COMMIT = "scf_after_commit"  # [callable], run once the outermost transaction has ended


def after_commit(session: Session, func: Callable[[], None]) -> None:
    """Call `func` once the session's outermost transaction has committed (a worker's task
    queued for a row written now, say); forgotten if it rolls back. A failure is logged."""
    session.info.setdefault(_AFTER_COMMIT, []).append(func)


@orm_event.listens_for(Session, "after_rollback")
def _drop_after_commit(session: Session) -> None:
    session.info.pop(_AFTER_COMMIT, None)


def unsubscribe(name: str) -> None:
    """Stop handing events to the handler registered as `name` (its delivery state stays)."""
    _handlers.pop(name, None)


def handlers_for(event_name: str) -> list[Handler]:
    return [h for h in _handlers.values() if event_name in h.events]


def _subscribed_names() -> set[str]:
    return {n for h in _handlers.values() for n in h.events}


# --- Handing committed events to the worker -------------------------------------------------
#
# Audit events are collected as they are flushed, forgotten if their transaction (or savepoint)
# rolls back, and queued once the outermost transaction has committed and ended: only then may
# a handler (in immediate mode, run right here) open transactions of its own on the session.

_PENDING = "scf_events_pending"  # [(event id, the transaction it was flushed in)]
_COMMITTED = "scf_events_committed"  # [event id], waiting for the transaction to end


@orm_event.listens_for(Session, "after_flush")
def _collect(session: Session, _context: object) -> None:
    names = _subscribed_names()
    new = [obj.id for obj in session.new if isinstance(obj, AuditEvent) and obj.action in names]
    if new:
        transaction = session.get_nested_transaction() or session.get_transaction()
        session.info.setdefault(_PENDING, []).extend((event_id, transaction) for event_id in new)


@orm_event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, previous_transaction: SessionTransaction) -> None:
    pending = session.info.get(_PENDING)
    if pending:
        session.info[_PENDING] = [(e, t) for e, t in pending if not _within(t, previous_transaction)]


def _within(transaction: SessionTransaction | None, outer: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is outer:
            return True
        transaction = transaction.parent
    return False


@orm_event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint released: its events wait for the outer transaction
    pending = session.info.pop(_PENDING, None)
    if pending:
        session.info.setdefault(_COMMITTED, []).extend(event_id for event_id, _t in pending)


@orm_event.listens_for(Session, "after_transaction_end")
def _hand_over(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is not None:
        return
    for call in session.info.pop(_AFTER_COMMIT, ()):
        try:
            call()
        except Exception:
            log.exception("a call after commit failed; the sweeps will catch up")
    if not session.info.get(_COMMITTED):
        return
    for event_id in session.info.pop(_COMMITTED):
        try:
            deliver_event(event_id)
        except Exception:
            log.exception("could not queue delivery of event %s; the sweep will deliver it", event_id)


# --- Delivery (in the worker) ---------------------------------------------------------------


@huey.task()  # type: ignore[untyped-decorator]  # huey has no type information
@in_app_context
def deliver_event(event_id: int) -> None:
    """Run every handler subscribed to this event that has not run for it yet."""
    row = db.session.get(AuditEvent, event_id)
    if row is None:
        return
    event = Event.of(row)
    db.session.rollback()  # end the read: each handler runs in transactions of its own
    for handler in handlers_for(event.name):
        _deliver(event, handler)


_CLAIM = text(
    "INSERT INTO event_delivery (handler, event_id, attempts, next_attempt_at) VALUES (:handler, :event, 1, :lease) "
    "ON CONFLICT (handler, event_id) DO UPDATE SET attempts = event_delivery.attempts + 1, next_attempt_at = :lease "
    "WHERE event_delivery.delivered_at IS NULL AND event_delivery.next_attempt_at <= :now "
    "RETURNING attempts"
).bindparams(bindparam("lease", type_=UTCDateTime()), bindparam("now", type_=UTCDateTime()))


def _claim(event_id: int, handler: str, now: datetime) -> int | None:
    """Take the (event, handler) delivery for LEASE; its attempt number, or None when it is
    delivered, given up, claimed by another worker or waiting out a failure's delay."""
    # One upsert (PostgreSQL, and SQLite 3.35+): two workers claiming together get one row each way.
    with write_transaction():
        return db.session.execute(
            _CLAIM, {"event": event_id, "handler": handler, "lease": now + LEASE, "now": now}
        ).scalar_one_or_none()


def _deliver(event: Event, handler: Handler, now: datetime | None = None) -> bool:
    now = now or datetime.now(UTC)
    attempt = _claim(event.id, handler.name, now)
    if attempt is None:
        return False
    try:
        handler.run(event)
    except Exception as exc:  # noqa: BLE001 - a handler's failure is its own: retried later, the change stays
        db.session.rollback()
        _failed(event.id, handler.name, attempt, exc)
        return False
    _set(event.id, handler.name, delivered_at=datetime.now(UTC), next_attempt_at=None, last_error=None)
    return True


def _failed(event_id: int, handler: str, attempt: int, exc: Exception) -> None:
    error = f"{type(exc).__name__}: {exc}"[:2000]
    if attempt >= MAX_ATTEMPTS:
        log.error("handler %s gave up on event %s after %d attempts: %s", handler, event_id, attempt, error)
        _set(event_id, handler, next_attempt_at=None, last_error=error)
        return
    delay = RETRY_DELAYS[min(attempt, len(RETRY_DELAYS)) - 1]
    log.warning(
        "handler %s failed on event %s (attempt %d), trying again in %s: %s",
        handler,
        event_id,
        attempt,
        delay,
        error,
        exc_info=exc,
    )
    _set(event_id, handler, next_attempt_at=datetime.now(UTC) + delay, last_error=error)
    if not huey.immediate:  # immediate mode (tests) has no scheduler: the sweep retries
        try:
            deliver_event.schedule((event_id,), delay=delay.total_seconds())
        except Exception:
            log.exception("could not schedule the retry of event %s", event_id)


def _set(event_id: int, handler: str, **values: object) -> None:
    with write_transaction():
        db.session.execute(
            update(EventDelivery)
            .where(EventDelivery.event_id == event_id, EventDelivery.handler == handler)
            .values(**values)
        )


def delivery(event_id: int, handler: str) -> EventDelivery | None:
    """Where one event's delivery to one handler stands (for pages and tests)."""
    return db.session.get(EventDelivery, (handler, event_id), populate_existing=True)


# --- The sweep --------------------------------------------------------------------------------


@huey.periodic_task(crontab(minute="*"))  # type: ignore[untyped-decorator]  # huey has no type information
@in_app_context
def sweep_events() -> int:
    return deliver_due()


def deliver_due(now: datetime | None = None) -> int:
    """Deliver what is due (see the module's docstring); how many deliveries ran to success."""
    now = now or datetime.now(UTC)
    due: list[tuple[int, str]] = list(
        db.session.execute(
            select(EventDelivery.event_id, EventDelivery.handler)
            .where(EventDelivery.next_attempt_at <= now, EventDelivery.delivered_at.is_(None))
            .order_by(EventDelivery.next_attempt_at)
            .limit(SWEEP_BATCH)
        ).tuples()
    )
    for handler in _handlers.values():
        # A handler is owed the events from its first delivery on: one subscribed today is not
        # handed the changes of the day before it existed.
        first = db.session.execute(
            select(func.min(EventDelivery.event_id)).where(EventDelivery.handler == handler.name)
        ).scalar_one()
        if first is None:
            continue
        tried = exists().where(EventDelivery.handler == handler.name, EventDelivery.event_id == AuditEvent.id)
        due += [
            (event_id, handler.name)
            for event_id in db.session.execute(
                select(AuditEvent.id)
                .where(
                    AuditEvent.action.in_(handler.events),
                    AuditEvent.id > first,
                    and_(AuditEvent.created_at >= now - SWEEP_WINDOW, AuditEvent.created_at < now - SWEEP_AFTER),
                    ~tried,
                )
                .order_by(AuditEvent.id)
                .limit(SWEEP_BATCH)
            ).scalars()
        ]
    db.session.rollback()
    delivered = 0
    for event_id, handler_name in due:
        subscriber, row = _handlers.get(handler_name), db.session.get(AuditEvent, event_id)
        if subscriber is None or row is None:
            continue  # a handler this version no longer has
        event = Event.of(row)
        db.session.rollback()
        delivered += _deliver(event, subscriber, now)
    return delivered
