"""The resident's sending stays lean: one write transaction (reference, view, audit event), no
classifier and no per-request reading of reference data; routing is the worker's."""

from __future__ import annotations

from sqlalchemy import event, select

from feedback_app.extensions import db
from feedback_app.kernel import task_queue
from feedback_app.kernel.models import Submission

from . import factories
from .conftest import csrf_token, form_token

# Reading the smart area, then the reference upsert, the view and its audit event.
MAX_STATEMENTS = 4


def test_a_sending_is_one_write_transaction_and_routes_nothing(app, client, tmp_path):
    app.config.update(TASKS_IMMEDIATE=False, TASK_QUEUE_PATH=str(tmp_path / "tasks.sqlite3"))
    task_queue.configure(app)
    try:
        code = factories.initiative().code
        url = f"/initiatives/{code}/views/new"
        client.get(url)  # a first visit fills this process's cache of the catalogue
        html = client.get(url).get_data(as_text=True)

        transactions: list[list[str]] = [[]]
        engine = db.engine
        on_begin = lambda *args: transactions.append([])  # noqa: E731
        on_statement = lambda *args: transactions[-1].append(args[2].split()[0].upper())  # noqa: E731
        event.listen(engine, "begin", on_begin)
        event.listen(engine, "before_cursor_execute", on_statement)
        try:
            response = client.post(
                url,
                data={
                    "csrf_token": csrf_token(html),
                    "form_token": form_token(html),
                    "initiative": code,
                    "body": factories.TRANSPORT_VIEW,
                },
            )
        finally:
            event.remove(engine, "begin", on_begin)
            event.remove(engine, "before_cursor_execute", on_statement)
    finally:
        app.config.update(TASKS_IMMEDIATE=True)
        task_queue.configure(app)

    assert response.status_code in (302, 303)
    statements = [s for t in transactions for s in t if s not in ("BEGIN", "COMMIT", "ROLLBACK")]
    writing = [t for t in transactions if {"INSERT", "UPDATE", "DELETE"} & set(t)]
    assert len(writing) == 1, transactions  # the reference, the view and its audit event together
    assert [s for s in writing[0] if s in ("INSERT", "UPDATE", "DELETE")] == ["INSERT"] * 3, transactions
    assert len(statements) <= MAX_STATEMENTS, transactions
    stored = db.session.execute(select(Submission)).scalar_one()
    assert stored.predicted_bureau_code is None  # the worker's job, not the request's
