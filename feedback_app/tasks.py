"""Background work on a real task queue (huey): routing and retraining; e-mail next.

Web processes only enqueue. Workers run `huey_consumer feedback_app.worker.huey` (see worker.py),
each with an application of its own. Where the queue lives follows the configuration:
TASK_QUEUE_URL, else REDIS_URL (every app node and worker share one Redis queue), else a SQLite
file under instance/ (one machine). Every task is safe to run twice.

With TASKS_IMMEDIATE (the tests' default) a task runs at once in the caller's application
context, as huey's immediate mode intends; one test runs a real consumer process instead.
"""
from __future__ import annotations

import functools
import logging
from datetime import datetime, timedelta, timezone
from pathlib import Path

from flask import Flask, has_app_context
from huey import Huey, crontab
from huey.storage import RedisStorage, SqliteStorage

log = logging.getLogger(__name__)

class QueueFileStorage(SqliteStorage):
    """Huey's SQLite queue, synced as the app's own database is (WAL, synchronous=NORMAL): a
    power cut may lose the last tasks but never corrupts the file, and the sweep routes any view
    whose task was lost. A full sync on every sending would cost more than storing the view."""

    def _create_connection(self):
        connection = super()._create_connection()
        connection.execute("pragma synchronous=1")
        return connection


class AppHuey(Huey):
    """Huey whose queue is chosen by the application's settings (see configure)."""

    queue_url: str | None = None
    queue_path: str | None = None

    def get_storage(self, **kwargs):
        if self.queue_url:
            return RedisStorage(self.name, url=self.queue_url, **kwargs)
        return QueueFileStorage(self.name, filename=self.queue_path or "tasks.sqlite3", **kwargs)


huey = AppHuey("scf-tasks", immediate=True)
_worker_app: Flask | None = None

# A view still "received" this long after it was stored has lost its task (the queue was down
# when it was sent, or a worker died mid-task): the sweep routes it again.
SWEEP_AFTER = timedelta(minutes=2)
SWEEP_BATCH = 200


def configure(app: Flask) -> None:
    """Point the shared huey instance at the app's queue (called by create_app)."""
    huey.queue_url = app.config.get("TASK_QUEUE_URL") or app.config.get("REDIS_URL")
    huey.queue_path = str(app.config.get("TASK_QUEUE_PATH") or Path(app.instance_path) / "tasks.sqlite3")
    immediate = bool(app.config.get("TASKS_IMMEDIATE"))
    if immediate != huey.immediate:
        huey.immediate = immediate  # huey makes the storage for the mode (in memory when immediate)
    elif not immediate:
        huey.storage = huey.create_storage()  # the same mode, perhaps another queue


def bind_worker_app(app: Flask) -> None:
    """The application tasks run in, in a worker process (see worker.py)."""
    global _worker_app
    _worker_app = app


def _in_app_context(func):
    @functools.wraps(func)
    def run(*args, **kwargs):
        if has_app_context():  # immediate mode: the caller's application
            return func(*args, **kwargs)
        if _worker_app is None:
            raise RuntimeError("no application for this task: start workers with `huey_consumer feedback_app.worker.huey`")
        with _worker_app.app_context():
            return func(*args, **kwargs)
    return run


@huey.task(retries=2, retry_delay=5)
@_in_app_context
def route_submission(submission_id: int) -> None:
    from flask import current_app

    from . import campaigns, routing

    routing.route_submission(submission_id)
    if current_app.config["CAMPAIGNS"]:
        campaigns.place(submission_id)


@huey.periodic_task(crontab(minute="*"))
@_in_app_context
def sweep_unrouted() -> int:
    """Route views whose task was lost, and close retraining runs whose worker was lost. Routing
    only touches views still "received", so a view that a task or a moderator reaches first is
    left alone."""
    from sqlalchemy import select

    from . import routing
    from .extensions import db
    from .models import Status, Submission

    before = datetime.now(timezone.utc) - SWEEP_AFTER
    ids = db.session.execute(
        select(Submission.id).where(Submission.status == Status.RECEIVED, Submission.created_at < before)
        .order_by(Submission.id).limit(SWEEP_BATCH)
    ).scalars().all()
    for submission_id in ids:
        routing.route_submission(submission_id)
    _expire_stalled_runs()
    return len(ids)


def _expire_stalled_runs() -> None:
    from . import model_versions

    try:
        model_versions.expire_stalled_runs()
    except Exception:  # noqa: BLE001 - the sweep's routing matters more; the next minute tries again
        log.exception("could not expire stalled retraining runs")


@huey.periodic_task(crontab(minute="17"))
@_in_app_context
def refresh_statistics() -> None:
    """Hourly: what SQLite's planner knows of the tables (the queue's indexes depend on it)."""
    from .database import refresh_planner_statistics

    refresh_planner_statistics()


@huey.task()
@_in_app_context
def retrain(run_id: int) -> None:
    from . import model_versions

    model_versions.run_retraining(run_id)


def enqueue_retraining(run_id: int) -> bool:
    try:
        retrain(run_id)
    except Exception:  # noqa: BLE001 - the caller marks the run failed and says so
        log.exception("could not queue retraining run %s", run_id)
        return False
    return True


def enqueue_routing(submission_id: int) -> bool:
    """Ask a worker to route a stored view. Never raises: if the queue cannot be reached the view
    stays "received" — listed in the review queue and routed by the next sweep."""
    try:
        route_submission(submission_id)
    except Exception:  # noqa: BLE001 - the view is stored; losing its task must not fail the sending
        log.exception("could not queue routing for submission %s; the sweep will route it", submission_id)
        return False
    return True
