"""Database engine set-up and the one way services open a write transaction.

SQLite: WAL lets readers run beside one writer; the busy timeout makes a second writer wait
instead of failing. pysqlite by default opens transactions lazily with a plain BEGIN, so two
read-then-write transactions both read, then one fails with "database is locked" (or, worse,
acts on a stale read). We take over transaction control and start write transactions with
BEGIN IMMEDIATE, which takes the write lock before the first read.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from ..extensions import db
from .private_files import create_private_file

_IMMEDIATE = "sqlite_begin_immediate"


def configure_engine(engine: Engine, busy_timeout_ms: int) -> None:
    if engine.dialect.name != "sqlite":
        return
    _create_private_sqlite_file(engine)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:  # a DB-API connection (sqlite3's)
        # Stop pysqlite from issuing its own BEGIN; we emit it in the "begin" hook below.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys = ON")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(_IMMEDIATE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _create_private_sqlite_file(engine: Engine) -> None:
    """Create the database file 0600 before SQLite first opens it (it would make it 0644).

    SQLite gives the -wal and -shm files it creates later the main file's mode, so they are
    private too. An in-memory database, or a folder that does not exist, is left to SQLite.
    """
    path = engine.url.database
    if not path or path == ":memory:" or path.startswith("file:") or engine.url.query.get("uri"):
        return
    try:
        create_private_file(Path(path))
    except FileNotFoundError:
        pass  # SQLite will say "unable to open database file", with the path


@contextmanager
def write_transaction() -> Iterator[Session]:
    """Run the block as one write transaction: commit on success, roll back on any error.

    A read transaction the request already holds (e.g. from loading the signed-in user) is
    ended first, so the write transaction starts fresh and, on SQLite, with BEGIN IMMEDIATE.
    """
    session = db.session()  # the request's Session itself, not the scoped proxy
    if session.in_transaction():
        session.commit()
    session.connection(execution_options={_IMMEDIATE: True})
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise


def refresh_planner_statistics() -> None:
    """SQLite: sample each index again so the planner knows the backlog's partial indexes are
    small (without statistics it guesses, and may sort a whole status instead). The sample
    limit keeps it to milliseconds at a million rows. PostgreSQL's autovacuum does this itself."""
    if db.engine.dialect.name != "sqlite":
        return
    with db.engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA analysis_limit = 1000")
        conn.exec_driver_sql("ANALYZE")
