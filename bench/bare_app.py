"""The baseline for the submit benchmark: the least a Flask + SQLAlchemy app can do to store a view.

One table, one form field, one INSERT in one transaction, a redirect — served by the same
gunicorn, with the same workers and the same database kind as the real app in the same run.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

from flask import Flask, redirect, request
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, Integer, Text, event
from sqlalchemy.orm import Mapped, mapped_column

db = SQLAlchemy()


class View(db.Model):
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["BARE_DATABASE_URL"]
db.init_app(app)
with app.app_context():
    if db.engine.dialect.name == "sqlite":
        # As the real app sets SQLite up (feedback_app/kernel/database.py): WAL and a busy timeout, so
        # two workers writing at once wait for each other instead of failing.
        @event.listens_for(db.engine, "connect")
        def _pragmas(connection, _record):
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA busy_timeout=15000")

    db.create_all()


@app.post("/views")
def store():
    db.session.add(View(body=request.form.get("body", ""), created_at=datetime.now(UTC)))
    db.session.commit()
    return redirect("/views", code=303)
