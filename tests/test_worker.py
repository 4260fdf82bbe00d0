"""The background worker: a view is stored by the request and routed by a worker process.

Most tests run tasks in huey's immediate mode (inside the request, see TestConfig); here a real
`huey_consumer` process routes what the web side stored, through the SQLite queue file, on both
databases. A queue that cannot be reached loses nothing: the view stays listed for review and
the sweep routes it later.
"""
from __future__ import annotations

import os
import socket
import subprocess  # nosec B404 - the test starts a worker process, as a deployment does
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from feedback_app import tasks
from feedback_app.extensions import db
from feedback_app.models import AuditEvent, Status, Submission

from . import factories

ROOT = Path(__file__).resolve().parents[1]
WORKER_SECONDS = 60


@pytest.fixture(params=["sqlite-file", "redis"])
def queued_app(request, app, tmp_path):
    """The app enqueueing for real: into a SQLite queue file, as one machine runs it, or into
    Redis, as several app nodes and workers share one queue."""
    if request.param == "redis":
        app.config.update(TASKS_IMMEDIATE=False, TASK_QUEUE_URL=request.getfixturevalue("redis_url"))
    else:
        app.config.update(TASKS_IMMEDIATE=False, TASK_QUEUE_PATH=str(tmp_path / "tasks.sqlite3"))
    tasks.configure(app)
    tasks.huey.flush()  # nothing left from an earlier run
    yield app
    app.config.update(TASKS_IMMEDIATE=True, TASK_QUEUE_URL=None)
    tasks.configure(app)


def _worker(app, log: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "REDIS_", "TASK", "TEST_"))}
    env.update(DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"], SECRET_KEY=app.config["SECRET_KEY"],
               PYTHONPATH=str(ROOT))
    for setting in ("TASK_QUEUE_URL", "TASK_QUEUE_PATH"):
        if app.config.get(setting):
            env[setting] = app.config[setting]
    with open(log, "w") as out:
        return subprocess.Popen(  # nosec B603 - fixed arguments, the virtualenv's own consumer
            [str(Path(sys.executable).parent / "huey_consumer"), "feedback_app.worker.huey", "-w", "1", "-n"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )


def _reload(sub_id: int) -> Submission:
    db.session.rollback()  # a new transaction: see what the worker committed
    return db.session.get(Submission, sub_id)


def _audit_count(sub_id: int) -> int:
    return db.session.execute(select(func.count()).where(AuditEvent.submission_id == sub_id)).scalar_one()


def test_a_worker_process_routes_what_the_request_stored(queued_app, tmp_path):
    sub = factories.submission()
    assert sub.status == Status.RECEIVED and sub.predicted_bureau_code is None  # nothing ran in the request

    log = tmp_path / "worker.log"
    worker = _worker(queued_app, log)
    try:
        deadline = time.monotonic() + WORKER_SECONDS
        while _reload(sub.id).status == Status.RECEIVED:
            assert worker.poll() is None, f"the worker exited:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"not routed within {WORKER_SECONDS} s:\n{log.read_text()}"
            time.sleep(0.2)
        routed = _reload(sub.id)
        assert routed.status in (Status.ROUTED, Status.NEEDS_REVIEW)
        assert routed.predicted_bureau_code is not None and routed.classifier_version_id is not None
        events = _audit_count(sub.id)

        # The same task again (a retry, a duplicate) changes nothing.
        tasks.route_submission(sub.id)
        time.sleep(2)
        assert _reload(sub.id).status == routed.status and _audit_count(sub.id) == events
    finally:
        worker.terminate()
        worker.wait(timeout=30)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _sent_while_the_queue_is_down(app):
    """A view sent while the task queue (here a Redis port nobody listens on) cannot be reached."""
    app.config.update(TASKS_IMMEDIATE=False, TASK_QUEUE_URL=f"redis://127.0.0.1:{_closed_port()}/0")
    tasks.configure(app)
    try:
        return factories.submission()
    finally:
        app.config.update(TASKS_IMMEDIATE=True, TASK_QUEUE_URL=None)
        tasks.configure(app)


def test_a_queue_that_cannot_be_reached_loses_no_view(app):
    sub = _sent_while_the_queue_is_down(app)
    stored = _reload(sub.id)
    assert stored is not None and stored.status == Status.RECEIVED

    # Later the sweep (a periodic task in every worker) routes what lost its task.
    db.session.execute(update(Submission).where(Submission.id == sub.id).values(
        created_at=datetime.now(timezone.utc) - tasks.SWEEP_AFTER - timedelta(seconds=1)))
    db.session.commit()
    assert tasks.sweep_unrouted.call_local() == 1
    assert _reload(sub.id).status in (Status.ROUTED, Status.NEEDS_REVIEW)
    assert tasks.sweep_unrouted.call_local() == 0  # nothing left: a second sweep does nothing


def test_the_sweep_leaves_recent_views_to_their_own_task(app):
    sub = _sent_while_the_queue_is_down(app)
    assert tasks.sweep_unrouted.call_local() == 0
    assert _reload(sub.id).status == Status.RECEIVED
