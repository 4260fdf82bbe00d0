"""Events after commit: a committed change is handed to each subscribed handler once, through the
worker; a rolled-back change never is; a failing handler is retried later without touching the
change or the other handlers; and what the queue lost at commit time is delivered by the sweep.

Tasks run in huey's immediate mode here (the worker's part inside the test, see TestConfig);
tests/test_worker.py runs a real consumer process.
"""

from __future__ import annotations

import itertools
import socket
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from feedback_app.extensions import db
from feedback_app.kernel import events, task_queue, workflow
from feedback_app.kernel.database import write_transaction
from feedback_app.kernel.models import AuditAction, AuditEvent, Status, Submission

from . import factories

ROUTING = "routing.route_stored_view"
_numbers = itertools.count(900001)


@pytest.fixture
def subscribe():
    """Subscribe test handlers to an event for one test (routing's own stays subscribed)."""
    names = []

    def add(event_name, name, run):
        events.subscribe(event_name, name=name)(run)
        names.append(name)

    yield add
    for name in names:
        events.unsubscribe(name)


class Recorder:
    """A handler that notes the submission of each event it is given, failing its first `fails` calls."""

    def __init__(self, fails: int = 0):
        self.seen: list[int] = []
        self.fails = fails

    def __call__(self, event: events.Event) -> None:
        self.seen.append(event.submission_id)
        if len(self.seen) <= self.fails:
            raise RuntimeError("the mail server is down")


def _submitted_event(sub_id: int) -> int:
    return db.session.execute(
        select(AuditEvent.id).where(AuditEvent.submission_id == sub_id, AuditEvent.action == AuditAction.SUBMITTED)
    ).scalar_one()


def _actions(sub_id: int) -> list[str]:
    db.session.rollback()
    return list(
        db.session.execute(
            select(AuditEvent.action).where(AuditEvent.submission_id == sub_id).order_by(AuditEvent.id)
        ).scalars()
    )


def _later(delay: timedelta) -> datetime:
    return datetime.now(UTC) + delay + timedelta(seconds=1)


def test_a_handler_runs_once_per_committed_change(app, subscribe):
    recorder = Recorder()
    subscribe(AuditAction.SUBMITTED, "test.recorder", recorder)
    sub = factories.submission()
    assert recorder.seen == [sub.id]
    event_id = _submitted_event(sub.id)
    assert events.delivery(event_id, "test.recorder").delivered_at is not None

    # The same event brought again, by a duplicate task or by the sweep much later, runs nothing.
    events.deliver_event(event_id)
    assert events.deliver_due(_later(events.SWEEP_AFTER)) == 0
    assert recorder.seen == [sub.id]
    # Routing, the first real subscriber, routed the view once.
    assert _actions(sub.id) == ["submitted", "auto_routed"]


def _store_unsent_view() -> int:
    """A view written in the caller's transaction as intake writes one: the row and its audit event."""
    sub = Submission(
        reference=f"SCF-2026-{next(_numbers):06d}",
        tracking_token_hash="x" * 64,
        body=factories.TRANSPORT_VIEW,
        language="en",
        topic_area_code="mobility",
        created_at=datetime.now(UTC),
    )
    db.session.add(sub)
    db.session.flush()
    workflow.record_creation(sub, AuditAction.SUBMITTED, actor=None)
    db.session.flush()  # the event exists in the transaction, with its id
    return sub.id


def test_a_rolled_back_change_is_never_handed_to_anyone(app, subscribe):
    recorder = Recorder()
    subscribe(AuditAction.SUBMITTED, "test.recorder", recorder)
    with pytest.raises(RuntimeError), write_transaction():
        _store_unsent_view()
        raise RuntimeError("the change fails after its event was written")
    # A savepoint rolled back inside a transaction that commits: only the outer change's event.
    with write_transaction():
        kept = _store_unsent_view()
        with pytest.raises(RuntimeError), db.session.begin_nested():
            _store_unsent_view()
            raise RuntimeError("this part fails")
    assert recorder.seen == [kept]
    assert db.session.execute(select(func.count()).select_from(Submission)).scalar_one() == 1
    assert events.deliver_due(_later(events.SWEEP_AFTER)) == 0
    assert recorder.seen == [kept]


def test_a_failing_handler_is_retried_later_and_the_change_stays(app, subscribe):
    recorder = Recorder(fails=2)
    subscribe(AuditAction.SUBMITTED, "test.mail", recorder)
    sub = factories.submission()
    event_id = _submitted_event(sub.id)

    stored = db.session.get(Submission, sub.id, populate_existing=True)
    assert stored is not None and stored.status in (Status.ROUTED, Status.NEEDS_REVIEW)  # the change stays
    first = events.delivery(event_id, "test.mail")
    assert first.delivered_at is None and first.attempts == 1 and "the mail server is down" in first.last_error
    assert first.next_attempt_at > datetime.now(UTC) + events.RETRY_DELAYS[0] - timedelta(seconds=5)

    # Not before its delay; then again, failing, with a longer wait; then delivered.
    assert events.deliver_due() == 0 and recorder.seen == [sub.id]
    assert events.deliver_due(_later(events.RETRY_DELAYS[0])) == 0
    second = events.delivery(event_id, "test.mail")
    assert second.attempts == 2 and second.delivered_at is None
    assert second.next_attempt_at > datetime.now(UTC) + events.RETRY_DELAYS[1] - timedelta(seconds=5)
    assert events.deliver_due(_later(events.RETRY_DELAYS[1])) == 1
    assert recorder.seen == [sub.id] * 3
    assert events.delivery(event_id, "test.mail").delivered_at is not None
    assert events.deliver_due(_later(events.RETRY_DELAYS[-1])) == 0
    assert _actions(sub.id) == ["submitted", "auto_routed"]  # the view was never touched again


def test_a_handler_that_keeps_failing_is_given_up(app, subscribe):
    recorder = Recorder(fails=events.MAX_ATTEMPTS + 5)
    subscribe(AuditAction.SUBMITTED, "test.broken", recorder)
    sub = factories.submission()
    for _ in range(events.MAX_ATTEMPTS + 2):
        events.deliver_due(_later(events.RETRY_DELAYS[-1]))
    assert len(recorder.seen) == events.MAX_ATTEMPTS
    given_up = events.delivery(_submitted_event(sub.id), "test.broken")
    assert given_up.delivered_at is None and given_up.next_attempt_at is None


def test_a_second_handler_is_unaffected_by_the_first_ones_failure(app, subscribe):
    failing, counting = Recorder(fails=1), Recorder()
    subscribe(AuditAction.SUBMITTED, "test.failing", failing)
    subscribe(AuditAction.SUBMITTED, "test.counting", counting)
    sub = factories.submission()
    assert failing.seen == [sub.id] and counting.seen == [sub.id]

    assert events.deliver_due(_later(events.RETRY_DELAYS[0])) == 1  # the failed one alone, retried
    assert failing.seen == [sub.id] * 2 and counting.seen == [sub.id]
    assert _actions(sub.id) == ["submitted", "auto_routed"]  # routing ran once too


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_events_committed_while_the_queue_was_down_are_delivered_by_the_sweep(app, subscribe):
    recorder = Recorder()
    subscribe(AuditAction.SUBMITTED, "test.recorder", recorder)
    earlier = factories.submission()  # delivered as usual: both handlers are at work
    assert recorder.seen == [earlier.id]
    app.config.update(TASKS_IMMEDIATE=False, TASK_QUEUE_URL=f"redis://127.0.0.1:{_closed_port()}/0")
    task_queue.configure(app)
    try:
        sub = factories.submission()  # stored; handing its event to the queue failed
    finally:
        app.config.update(TASKS_IMMEDIATE=True, TASK_QUEUE_URL=None)
        task_queue.configure(app)
    assert recorder.seen == [earlier.id] and _actions(sub.id) == ["submitted"]

    assert events.deliver_due() == 0  # left to its own task for a while
    handlers = len(events.handlers_for("submitted"))  # routing, mail, the recorder
    assert events.deliver_due(_later(events.SWEEP_AFTER)) == handlers
    assert recorder.seen == [earlier.id, sub.id]
    assert _actions(sub.id) == ["submitted", "auto_routed"]
    assert events.delivery(_submitted_event(sub.id), ROUTING).delivered_at is not None
    assert events.deliver_due(_later(events.SWEEP_AFTER)) == 0


def test_a_handler_subscribed_later_is_not_handed_earlier_changes(app, subscribe):
    before = factories.submission()
    recorder = Recorder()
    subscribe(AuditAction.SUBMITTED, "test.new", recorder)
    after = factories.submission()
    assert events.deliver_due(_later(events.SWEEP_AFTER)) == 0
    assert recorder.seen == [after.id] and before.id != after.id


def test_the_sweep_runs_in_the_worker_as_a_periodic_task(app):
    sub = factories.submission()
    assert events.sweep_events.call_local() == 0  # nothing due: its own delivery routed it
    assert events.delivery(_submitted_event(sub.id), ROUTING).delivered_at is not None
