"""The background worker: a view is stored by the request and routed by a worker process.

Most tests run tasks in huey's immediate mode (inside the request, see TestConfig); here a real
`huey_consumer` process routes what the web side stored, through the SQLite queue file, on both
databases. A queue that cannot be reached loses nothing: the view stays listed for review and
the sweep routes it later.
"""

from __future__ import annotations

import os
import pickle  # nosec B403 - builds the hostile queue entry the worker must refuse
import shutil
import socket
import stat
import subprocess  # nosec B404 - the test starts a worker process, as a deployment does
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from feedback_app.extensions import db
from feedback_app.kernel import events, task_queue
from feedback_app.kernel.models import AuditAction, AuditEvent, Status, Submission
from feedback_app.routing import tasks

from . import factories
from .conftest import REQUIRE_REDIS, csrf_token, make_app

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
    task_queue.configure(app)
    task_queue.huey.flush()  # nothing left from an earlier run
    yield app
    app.config.update(TASKS_IMMEDIATE=True, TASK_QUEUE_URL=None)
    task_queue.configure(app)


def _worker(app, log: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "REDIS_", "TASK", "TEST_"))}
    env.update(
        DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"], SECRET_KEY=app.config["SECRET_KEY"], PYTHONPATH=str(ROOT)
    )
    for setting in ("TASK_QUEUE_URL", "TASK_QUEUE_PATH"):
        if app.config.get(setting):
            env[setting] = app.config[setting]
    with open(log, "w") as out:
        return subprocess.Popen(  # nosec B603 - fixed arguments, the virtualenv's own consumer
            [str(Path(sys.executable).parent / "huey_consumer"), "feedback_app.worker.huey", "-w", "1", "-n"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _reload(sub_id: int) -> Submission:
    db.session.rollback()  # a new transaction: see what the worker committed
    return db.session.get(Submission, sub_id)


def _submitted_event(sub_id: int) -> int:
    return db.session.execute(
        select(AuditEvent.id).where(AuditEvent.submission_id == sub_id, AuditEvent.action == AuditAction.SUBMITTED)
    ).scalar_one()


def _delivery(event_id: int) -> events.EventDelivery | None:
    db.session.rollback()  # a new transaction: see what the worker committed
    return events.delivery(event_id, "routing.route_stored_view")


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
        count = _audit_count(sub.id)
        # It was routed as the subscriber of its "submitted" event, delivered once by the worker.
        event_id = _submitted_event(sub.id)
        while (delivery := _delivery(event_id)) is None or delivery.delivered_at is None:
            assert time.monotonic() < deadline, f"delivery not recorded within {WORKER_SECONDS} s:\n{log.read_text()}"
            time.sleep(0.2)
        assert delivery.attempts == 1

        # The same task or the same event again (a retry, a duplicate) changes nothing.
        tasks.route_submission(sub.id)
        events.deliver_event(event_id)
        time.sleep(2)
        assert _reload(sub.id).status == routed.status and _audit_count(sub.id) == count
        assert _delivery(event_id).attempts == 1
    finally:
        worker.terminate()
        worker.wait(timeout=30)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _sent_while_the_queue_is_down(app, body: str = factories.TRANSPORT_VIEW):
    """A view sent while the task queue (here a Redis port nobody listens on) cannot be reached."""
    app.config.update(TASKS_IMMEDIATE=False, TASK_QUEUE_URL=f"redis://127.0.0.1:{_closed_port()}/0")
    task_queue.configure(app)
    try:
        return factories.submission(body)
    finally:
        app.config.update(TASKS_IMMEDIATE=True, TASK_QUEUE_URL=None)
        task_queue.configure(app)


def test_a_queue_that_cannot_be_reached_loses_no_view(app):
    sub = _sent_while_the_queue_is_down(app)
    stored = _reload(sub.id)
    assert stored is not None and stored.status == Status.RECEIVED

    # Later the sweep (a periodic task in every worker) routes what lost its task.
    db.session.execute(
        update(Submission)
        .where(Submission.id == sub.id)
        .values(created_at=datetime.now(UTC) - tasks.SWEEP_AFTER - timedelta(seconds=1))
    )
    db.session.commit()
    assert tasks.sweep_unrouted.call_local() == 1
    assert _reload(sub.id).status in (Status.ROUTED, Status.NEEDS_REVIEW)
    assert tasks.sweep_unrouted.call_local() == 0  # nothing left: a second sweep does nothing


def test_the_sweep_leaves_recent_views_to_their_own_task(app):
    sub = _sent_while_the_queue_is_down(app)
    assert tasks.sweep_unrouted.call_local() == 0
    assert _reload(sub.id).status == Status.RECEIVED


# --- What is in the queue is data, never code -------------------------------------------------


class _Exploit:
    """What an attacker who can write to Redis pushes: unpickling it creates `path`."""

    def __init__(self, path: Path):
        self.path = str(path)

    def __reduce__(self):
        return os.mkdir, (self.path,)


def _wait_until_decided(sub_id: int, worker, log: Path) -> Submission:
    deadline = time.monotonic() + WORKER_SECONDS
    while (sub := _reload(sub_id)).status == Status.RECEIVED:
        assert worker.poll() is None, f"the worker exited:\n{log.read_text()}"
        assert time.monotonic() < deadline, f"not routed within {WORKER_SECONDS} s:\n{log.read_text()}"
        time.sleep(0.2)
    return sub


def test_a_crafted_queue_entry_is_dropped_and_never_run(queued_app, tmp_path):
    marker = tmp_path / "the-attacker-was-here"
    forged_for = factories.submission("The cycle track in Sha Tin needs more shade and more water fountains.")
    task_queue.huey.flush()  # its own task lost: only the forged one below names it
    # Written straight into the queue's storage, as anyone who can reach Redis (or the file) could:
    # a pickle that runs a command, a genuine task pickled as huey used to store it, and a task
    # signed with a key other than this app's.
    message = task_queue.huey._registry.create_message(tasks.route_submission.s(forged_for.id))
    forger = task_queue.SignedJSONSerializer()
    forger.use_keys("a key the attacker guessed")
    for entry in (pickle.dumps(_Exploit(marker)), pickle.dumps(message), forger.serialize(message)):
        task_queue.huey.storage.enqueue(entry, 0)
    genuine = factories.submission()  # its task queued after them: the worker reads it last

    log = tmp_path / "worker.log"
    worker = _worker(queued_app, log)
    try:
        _wait_until_decided(genuine.id, worker, log)  # the worker went past the entries and lives on
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    assert not marker.exists(), "the pickled entry ran in the worker"
    assert _reload(forged_for.id).status == Status.RECEIVED  # left for the sweep, as a lost task
    assert log.read_text().count("refused queue data not signed with this app's key") == 3
    assert task_queue.huey.pending_count() == 0  # dropped, not put back to be read again


def test_tasks_are_stored_as_signed_json_and_round_trip(app):
    task = tasks.route_submission.s(42)
    task.eta = datetime(2026, 12, 7, 9, 30)  # noqa: DTZ001 - huey's etas are naive UTC; a retry waits with its time
    stored = task_queue.huey.serialize_task(task)
    assert stored.startswith(b"{") and b"feedback_app.routing.tasks.route_submission" in stored
    again = task_queue.huey.deserialize_task(stored)
    assert (again.args, again.id, again.eta, again.retries, again.retry_delay) == ((42,), task.id, task.eta, 2, 5)
    task_queue.huey.revoke_by_id("some-task", revoke_once=True)  # revocations are stored the same way
    assert task_queue.huey.is_revoked("some-task")


@pytest.mark.parametrize(
    "entry",
    [
        b"",
        b'{"message":{}}',  # JSON, unsigned
        pickle.dumps(("not", "json")),
        b'{"tuple":[1]}.' + b"A" * 43,  # a signature made up
    ],
)
def test_the_queue_refuses_anything_it_did_not_sign(app, entry):
    with pytest.raises(task_queue.RefusedTaskData):
        task_queue.huey.serializer.deserialize(entry)


def test_tasks_queued_before_a_key_rotation_still_run(app):
    stored = task_queue.huey.serialize_task(tasks.route_submission.s(7))
    # Every app configures the one queue of its process: the newest app's keys are the queue's.
    make_app(
        app.config["SQLALCHEMY_DATABASE_URI"], SECRET_KEY="the new key", SECRET_KEY_FALLBACKS=[app.config["SECRET_KEY"]]
    )
    try:
        assert task_queue.huey.deserialize_task(stored).args == (7,)
        make_app(app.config["SQLALCHEMY_DATABASE_URI"], SECRET_KEY="the new key")  # the old key retired
        with pytest.raises(task_queue.RefusedTaskData):
            task_queue.huey.deserialize_task(stored)
    finally:
        task_queue.configure(app)


def test_a_task_argument_that_is_not_json_is_refused_when_queued(app):
    with pytest.raises(TypeError):
        task_queue.huey.serializer.serialize(task_queue.huey._registry.create_message(tasks.retrain.s(object())))


def test_the_queue_file_is_private_from_the_start(app, tmp_path):
    os.umask(old := os.umask(0o022))  # as most servers run: new files readable by everyone
    try:
        app.config.update(TASKS_IMMEDIATE=False, TASK_QUEUE_PATH=str(tmp_path / "tasks.sqlite3"))
        task_queue.configure(app)
        factories.submission()
        assert task_queue.huey.pending_count() == 1  # its event's delivery, in the file
    finally:
        os.umask(old)
        app.config.update(TASKS_IMMEDIATE=True, TASK_QUEUE_PATH=None)
        task_queue.configure(app)
    for path in tmp_path.glob("tasks.sqlite3*"):  # the -wal and -shm files take the file's mode
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


# --- Redis with a password --------------------------------------------------------------------


@pytest.fixture
def redis_with_password(tmp_path):
    """A throwaway redis-server that answers only to its password: (url with it, url without)."""
    import redis

    binary = shutil.which("redis-server")
    if binary is None:
        if REQUIRE_REDIS:
            pytest.fail("TEST_REQUIRE_REDIS=1 but redis-server is not installed")
        pytest.skip("Redis password test skipped: no redis-server binary on PATH")
    port, password = _closed_port(), "a-long-random-password"
    server = subprocess.Popen(  # nosec B603 - fixed arguments
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--requirepass",
            password,
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    with_password = f"redis://:{password}@127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis.from_url(with_password, socket_connect_timeout=0.5).ping()
                break
            except redis.ConnectionError:
                assert time.monotonic() < deadline and server.poll() is None, "redis-server did not start"
                time.sleep(0.1)
        yield with_password, f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(timeout=10)


def _queue_at(app, url: str) -> None:
    app.config.update(TASKS_IMMEDIATE=False, TASK_QUEUE_URL=url)
    task_queue.configure(app)


def _suggestions(client):
    page = client.get(f"/initiatives/{factories.initiative().code}/views/new").get_data(as_text=True)
    return client.post(
        "/views/similar", data={"text": "The buses are late every morning.", "csrf_token": csrf_token(page)}
    )


def test_redis_with_a_password_holds_the_queue_and_the_limits(app, redis_with_password):
    import redis

    url, _ = redis_with_password
    try:
        _queue_at(app, url)
        sub = factories.submission()
        assert task_queue.huey.pending_count() == 1
        assert task_queue.huey.dequeue().args == (_submitted_event(sub.id),)
    finally:
        app.config.update(TASKS_IMMEDIATE=True, TASK_QUEUE_URL=None)
        task_queue.configure(app)

    limited = make_app(
        app.config["SQLALCHEMY_DATABASE_URI"],
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI=url,
        SIMILAR_VIEWS_RATE_LIMIT="2 per minute",
        RATELIMIT_STORAGE_TIMEOUT=2.0,
    )
    client = limited.test_client()
    assert [_suggestions(client).status_code for _ in range(3)] == [200, 200, 429]
    assert redis.Redis.from_url(url).keys("LIMITS*"), "the counts are not in the password-protected Redis"


def test_redis_without_its_password_loses_no_view(app, redis_with_password):
    _, without_password = redis_with_password
    try:
        _queue_at(app, without_password)
        sub = factories.submission()  # the queue refuses the task...
    finally:
        app.config.update(TASKS_IMMEDIATE=True, TASK_QUEUE_URL=None)
        task_queue.configure(app)
    stored = _reload(sub.id)
    assert stored is not None and stored.status == Status.RECEIVED  # ...the view is kept for the sweep

    limited = make_app(
        app.config["SQLALCHEMY_DATABASE_URI"],
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI=without_password,
        RATELIMIT_STORAGE_TIMEOUT=2.0,
    )
    assert _suggestions(limited.test_client()).status_code == 200  # limits fall back to memory
