"""The task queue's binding: one huey instance for every feature's tasks, its storage chosen by
the application's settings, its entries signed JSON, and each task run inside an application.

Web processes only enqueue. Workers run `huey_consumer feedback_app.worker.huey` (see worker.py),
each with an application of its own. Where the queue lives follows the configuration:
TASK_QUEUE_URL, else REDIS_URL (every app node and worker share one Redis queue), else a SQLite
file under instance/ (one machine). Every task is safe to run twice.

With TASKS_IMMEDIATE (the tests' default) a task runs at once in the caller's application
context, as huey's immediate mode intends; one test runs a real consumer process instead.

Whoever can write to the queue (Redis, the SQLite file) must not be able to run code in a worker:
tasks are stored as JSON signed with the app's SECRET_KEY (SignedJSONSerializer), never pickled.

Features define their tasks with `@huey.task()` over `@in_app_context`; a feature that must
start another feature's task without importing it asks for it by name (`enqueue`), so the two
stay independent and the kernel knows neither.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from flask import Flask, has_app_context
from huey import Huey, crontab
from huey.registry import Message
from huey.serializer import Serializer
from huey.storage import RedisStorage, SqliteStorage
from itsdangerous import BadSignature, Signer

from .database import refresh_planner_statistics
from .private_files import create_private_file

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")


class RefusedTaskData(ValueError):
    """Queue data that is not a task this app signed: dropped, never run."""


class SignedJSONSerializer(Serializer):  # type: ignore[misc]  # huey has no type information
    """What huey stores (task messages, revocations), as JSON signed with the app's SECRET_KEY.

    Huey's own serializer pickles, and unpickling runs whatever the data names: anyone who can
    push one entry into Redis (or write to the queue file) would run a command as the worker's
    user. JSON builds only numbers, strings, lists and dicts, and the signature (HMAC-SHA256,
    salted apart from the session cookie's) refuses an entry this app did not write before it
    is even parsed. Keys rotate as sessions do: signed with SECRET_KEY, accepted under any key
    in SECRET_KEY_FALLBACKS, so tasks queued just before a rotation still run.
    """

    SALT = "scf-task-queue"

    def __init__(self) -> None:
        super().__init__()
        self._signer: Signer | None = None

    def use_keys(self, secret_key: str | bytes, fallbacks: Iterable[str | bytes] = ()) -> None:
        # itsdangerous signs with the last key and accepts every one of them.
        keys = [k.encode() if isinstance(k, str) else k for k in (*fallbacks, secret_key)]
        self._signer = Signer(keys, salt=self.SALT, digest_method=hashlib.sha256)

    def _serialize(self, data: object) -> bytes:
        if self._signer is None:
            raise RuntimeError("the task queue has no key yet: create the app first (task_queue.configure)")
        return self._signer.sign(json.dumps(_to_json(data), separators=(",", ":")).encode())

    def _deserialize(self, data: bytes) -> object:
        if self._signer is None:
            raise RefusedTaskData("the task queue has no key yet: create the app first (task_queue.configure)")
        try:
            return _from_json(json.loads(self._signer.unsign(bytes(data))))
        except BadSignature:
            log.warning("refused queue data not signed with this app's key (%d bytes): dropped", len(data))
            raise RefusedTaskData("queue data not signed with this app's key") from None
        except (ValueError, TypeError, KeyError) as exc:  # signed, yet not ours: a key shared with another app?
            log.warning("refused signed queue data that is not a task (%s): dropped", exc)
            raise RefusedTaskData("queue data that is not a task") from None


# JSON has no tuples, dates or huey messages: each is written as a one-key object naming its
# type. Every dict is wrapped too, so a task's own data can never pass for one of these.
def _to_json(value: object) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Message):
        return {"message": {field: _to_json(getattr(value, field)) for field in Message._fields}}
    if isinstance(value, datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, timedelta):
        return {"timedelta": value.total_seconds()}
    if isinstance(value, tuple):
        return {"tuple": [_to_json(v) for v in value]}
    if isinstance(value, list):
        return [_to_json(v) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"dict": {k: _to_json(v) for k, v in value.items()}}
    raise TypeError(f"a task's arguments must be JSON data, not {type(value).__name__}")


def _from_json(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, list):
        return [_from_json(v) for v in value]
    [(kind, body)] = value.items()  # ValueError unless exactly one
    if kind == "message":
        return Message(**{field: _from_json(body[field]) for field in Message._fields})
    if kind == "datetime":
        return datetime.fromisoformat(body)
    if kind == "timedelta":
        return timedelta(seconds=body)
    if kind == "tuple":
        return tuple(_from_json(v) for v in body)
    if kind == "dict":
        return {str(k): _from_json(v) for k, v in body.items()}
    raise ValueError(f"unknown type {kind!r}")


class QueueFileStorage(SqliteStorage):  # type: ignore[misc]  # huey has no type information
    """Huey's SQLite queue, synced as the app's own database is (WAL, synchronous=NORMAL): a
    power cut may lose the last tasks but never corrupts the file, and the sweep routes any view
    whose task was lost. A full sync on every sending would cost more than storing the view.

    The file is created 0600 before SQLite first opens it (SQLite would make it 0644, and gives
    its -wal and -shm files the main file's mode), like the app's own database."""

    def __init__(self, name: str, filename: str, **kwargs: Any) -> None:
        try:
            create_private_file(Path(filename))
        except FileNotFoundError:
            pass  # SQLite will say "unable to open database file", with the path
        super().__init__(name, filename=filename, **kwargs)

    def _create_connection(self) -> Any:
        connection = super()._create_connection()
        connection.execute("pragma synchronous=1")
        return connection


class AppHuey(Huey):  # type: ignore[misc]  # huey has no type information
    """Huey whose queue is chosen by the application's settings (see configure)."""

    queue_url: str | None = None
    queue_path: str | None = None

    def get_storage(self, **kwargs: Any) -> Any:
        if self.queue_url:
            return RedisStorage(self.name, url=self.queue_url, **kwargs)
        return QueueFileStorage(self.name, filename=self.queue_path or "tasks.sqlite3", **kwargs)


# No result store: every task here returns None or, periodic, is never stored; a failure is in
# the worker's log, where an unread error result in the queue's storage would only pile up.
huey = AppHuey("scf-tasks", immediate=True, results=False, serializer=SignedJSONSerializer())
_worker_app: Flask | None = None


def configure(app: Flask) -> None:
    """Point the shared huey instance at the app's queue (called by create_app)."""
    huey.queue_url = app.config.get("TASK_QUEUE_URL") or app.config.get("REDIS_URL")
    huey.queue_path = str(app.config.get("TASK_QUEUE_PATH") or Path(app.instance_path) / "tasks.sqlite3")
    huey.serializer.use_keys(app.config["SECRET_KEY"], app.config.get("SECRET_KEY_FALLBACKS") or ())
    immediate = bool(app.config.get("TASKS_IMMEDIATE"))
    if immediate != huey.immediate:
        huey.immediate = immediate  # huey makes the storage for the mode (in memory when immediate)
    elif not immediate:
        huey.storage = huey.create_storage()  # the same mode, perhaps another queue


def bind_worker_app(app: Flask) -> None:
    """The application tasks run in, in a worker process (see worker.py)."""
    global _worker_app
    _worker_app = app


def in_app_context(func: Callable[P, R]) -> Callable[P, R]:
    """Run the task in the caller's application (immediate mode) or the worker's (bind_worker_app)."""

    @functools.wraps(func)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        if has_app_context():  # immediate mode: the caller's application
            return func(*args, **kwargs)
        if _worker_app is None:
            raise RuntimeError(
                "no application for this task: start workers with `huey_consumer feedback_app.worker.huey`"
            )
        with _worker_app.app_context():
            return func(*args, **kwargs)

    return run


_named: dict[str, Any] = {}  # huey's TaskWrapper objects


def named(name: str) -> Callable[[T], T]:
    """Register a task under a name that other parts may enqueue it by (see enqueue)."""

    def register(task: T) -> T:
        _named[name] = task
        return task

    return register


def enqueue(name: str, *args: object) -> bool:
    """Queue the task registered as `name`. Never raises: False (and the error logged) when the
    task is unknown in this process or the queue cannot be reached; the caller says what that
    means for its own state."""
    try:
        _named[name](*args)
    except Exception:
        log.exception("could not queue task %s%r", name, args)
        return False
    return True


@huey.periodic_task(crontab(minute="17"))  # type: ignore[untyped-decorator]  # huey has no type information
@in_app_context
def refresh_statistics() -> None:
    """Hourly: what SQLite's planner knows of the tables (the queue's indexes depend on it)."""
    refresh_planner_statistics()
