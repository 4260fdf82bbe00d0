"""Routing's and retraining's background work, on the kernel's task queue (kernel/task_queue.py).

A stored view is routed because intake's write recorded its "submitted" event: routing subscribes
to it (kernel/events.py), so the worker routes each committed view once, retries a failure, and
the events' sweep delivers what the queue lost. The sweep below still routes any view left
"received" whatever the reason. Every task is safe to run twice.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from huey import crontab
from sqlalchemy import select

from ..extensions import db
from ..kernel import events
from ..kernel.models import AuditAction, Status, Submission
from ..kernel.task_queue import huey, in_app_context, named
from . import services as routing
from . import versions as model_versions

log = logging.getLogger(__name__)


@events.subscribe(AuditAction.SUBMITTED, name="routing.route_stored_view")
def route_stored_view(event: events.Event) -> None:
    """A view was stored: group it with its near copies, then route it (routing.route_stored_view)."""
    if event.submission_id is not None:
        routing.route_stored_view(event.submission_id)


# A view still "received" this long after it was stored has lost its task (the queue was down
# when it was sent, or a worker died mid-task): the sweep routes it again.
SWEEP_AFTER = timedelta(minutes=2)
SWEEP_BATCH = 200


@huey.task(retries=2, retry_delay=5)
@in_app_context
def route_submission(submission_id: int) -> None:
    routing.route_stored_view(submission_id)


@huey.periodic_task(crontab(minute="*"))
@in_app_context
def sweep_unrouted() -> int:
    """Route views whose task was lost, and close retraining runs whose worker was lost. Routing
    only touches views still "received", so a view that a task or a moderator reaches first is
    left alone."""
    before = datetime.now(UTC) - SWEEP_AFTER
    ids = (
        db.session.execute(
            select(Submission.id)
            .where(Submission.status == Status.RECEIVED, Submission.created_at < before)
            .order_by(Submission.id)
            .limit(SWEEP_BATCH)
        )
        .scalars()
        .all()
    )
    for submission_id in ids:
        routing.route_stored_view(submission_id)  # as its own task would have: grouped, then routed
    _expire_stalled_runs()
    return len(ids)


def _expire_stalled_runs() -> None:
    try:
        model_versions.expire_stalled_runs()
    except Exception:
        log.exception("could not expire stalled retraining runs")


@named(model_versions.RETRAIN_TASK)
@huey.task()
@in_app_context
def retrain(run_id: int) -> None:
    model_versions.run_retraining(run_id)
