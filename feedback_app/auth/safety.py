"""Refuse to serve in production while a demo account is active.

Demo accounts' passwords are published (README), so one left active on a public site is an
open door. "Production" here means the SECRET_KEY came from the environment, as every
multi-node deployment must set it (README); a single machine trying the site uses the
generated instance/secret_key and may keep its demo accounts.

The check runs when the app is built to serve requests: imported by gunicorn (wsgi.py), by
any WSGI server, or by `flask run`. It does not run for the other `flask` commands, so
`flask users deactivate --email ...` (the fix it asks for) and `flask db upgrade` still work
on a database that would be refused.
"""

from __future__ import annotations

import click
from flask import Flask
from sqlalchemy import func, inspect, select
from sqlalchemy.exc import DBAPIError

from ..extensions import db
from ..kernel.models import User
from .demo_accounts import DEMO_EMAILS


class UnsafeForProduction(RuntimeError):
    pass


def is_production(app: Flask) -> bool:
    return bool(app.config.get("SECRET_KEY_FROM_ENVIRONMENT"))


def _serving() -> bool:
    ctx = click.get_current_context(silent=True)
    # No click context: imported by a WSGI server or a test. Inside `flask <command>`, only
    # `run` serves requests.
    return ctx is None or ctx.command.name == "run"


def active_demo_accounts() -> list[str]:
    """Active accounts with a demo e-mail; none on a database not yet migrated."""
    with db.engine.connect() as conn:
        if not inspect(conn).has_table(User.__tablename__):
            return []  # first start: `flask db upgrade` has not run yet
        return list(
            conn.execute(
                select(User.email)
                .where(User.active.is_(True), func.lower(User.email).in_(sorted(DEMO_EMAILS)))
                .order_by(User.email)
            ).scalars()
        )


def check_production_safety(app: Flask) -> None:
    if not is_production(app) or not _serving():
        return
    with app.app_context():
        try:
            emails = active_demo_accounts()
        except DBAPIError as exc:
            # The database being down must not stop the app starting (it answers 503 and
            # recovers when the database is back); say loudly that the check did not run.
            app.logger.error("Could not check for active demo accounts (database unreachable): %s", exc)
            return
    if emails:
        commands = "; ".join(f"flask users deactivate --email {email}" for email in emails)
        raise UnsafeForProduction(
            "Refusing to start: SECRET_KEY comes from the environment (production), but these demo "
            f"accounts, whose passwords are public, are active: {', '.join(emails)}. "
            f"Deactivate them first ({commands}; if the demo admin is your only administrator, create "
            "your own first: flask users create --role admin --email ...), and set ALLOW_DEMO_ACCOUNTS=0."
        )
