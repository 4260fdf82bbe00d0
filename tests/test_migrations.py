"""The schema exists only through migrations, and the models agree with them."""

import re
import warnings

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy import CheckConstraint, inspect, select, text
from sqlalchemy.exc import IntegrityError

from feedback_app.extensions import db
from feedback_app.kernel.models import AuditEvent, Role, Submission

from . import factories
from .conftest import MIGRATIONS


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", MIGRATIONS)
    return config


# Made by migration 0009 only, being expressions or dialect-specific (models.Submission says so).
UNDECLARED = {"ix_submission_queue_confidence", "ix_submission_search", "ix_submission_queue_search"}


def _declared(name, type_, parent_names):
    if type_ == "column":
        return name != "search_document"  # PostgreSQL's stored search document
    return name not in UNDECLARED and not (type_ == "table" and name.startswith("submission_fts"))


def test_models_and_migrations_agree(app, backend):
    # The app fixture's database was built by `upgrade` to head from a blank database.
    with db.engine.connect() as conn:
        version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_name": _declared})
        with warnings.catch_warnings():  # SQLAlchemy cannot reflect an index on an expression
            warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index")
            diff = compare_metadata(context, db.metadata)
    assert version == ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert diff == [], f"models differ from migrations on {backend}: {diff}"
    assert "submission" in inspect(db.engine).get_table_names()
    # Alembic's comparison leaves CHECK constraints out: each declared one exists, with the same values.
    assert _checks_in_database() == _checks_declared(), f"CHECK constraints differ on {backend}"


def _allowed(sql: str) -> frozenset[str]:
    """The values a CHECK's condition lists, as each database spells it back
    (PostgreSQL: "((status)::text = ANY ((ARRAY['a'::character varying, ...])::text[]))")."""
    return frozenset(re.findall(r"'([^']*)'", sql) or re.findall(r"\b\d+\b", sql))


def _checks_declared() -> dict[tuple[str, str], frozenset[str]]:
    return {
        (table.name, constraint.name): _allowed(str(constraint.sqltext))
        for table in db.metadata.sorted_tables
        for constraint in table.constraints
        if isinstance(constraint, CheckConstraint)
    }


def _checks_in_database() -> dict[tuple[str, str], frozenset[str]]:
    inspector = inspect(db.engine)
    return {
        (table, check["name"]): _allowed(check["sqltext"])
        for table in inspector.get_table_names()
        for check in inspector.get_check_constraints(table)
    }


def test_every_status_column_is_checked_by_the_database(app):
    assert set(_checks_declared()) >= {
        ("submission", "ck_submission_status"),
        ("submission", "ck_submission_visibility"),
        ("submission", "ck_submission_rejection_reason"),
        ("submission", "ck_submission_review_priority"),
        ("user_account", "ck_user_account_role"),
        ("audit_event", "ck_audit_event_action"),
        ("training_run", "ck_training_run_status"),
        ("initiative", "ck_initiative_status"),
        ("enrolment_link", "ck_enrolment_link_status"),
    }


OUTSIDE_THEIR_SETS = [
    "UPDATE submission SET status = 'lost' WHERE id = :id",
    "UPDATE submission SET visibility = 'everyone' WHERE id = :id",
    "UPDATE submission SET rejection_reason = 'boring' WHERE id = :id",
    "UPDATE submission SET review_priority = 7 WHERE id = :id",
    "UPDATE user_account SET role = 'root'",
    "UPDATE initiative SET status = 'cancelled'",
    "INSERT INTO training_run (status, progress, created_at) VALUES ('paused', 0, CURRENT_TIMESTAMP)",
    "INSERT INTO audit_event (submission_id, action, before, after, created_at) "
    "VALUES (:id, 'forged', '{}', '{}', CURRENT_TIMESTAMP)",
]


@pytest.mark.parametrize("statement", OUTSIDE_THEIR_SETS)
def test_a_status_outside_its_set_is_refused_even_in_sql(app, statement):
    sub = factories.submission()
    factories.user(Role.MODERATOR)
    with pytest.raises(IntegrityError, match=r"(?i)check constraint"):
        db.session.execute(text(statement), {"id": sub.id})
    db.session.rollback()
    # A value from the set still goes through the same way.
    db.session.execute(
        text("UPDATE submission SET status = 'closed', rejection_reason = 'spam', review_priority = 0 WHERE id = :id"),
        {"id": sub.id},
    )
    db.session.commit()


def test_the_constraints_come_and_go_on_a_database_with_views_keeping_its_triggers(app, backend):
    sub = factories.submission()
    first_event = db.session.execute(select(AuditEvent.id)).scalars().first()
    db.session.commit()
    downgrade(directory=MIGRATIONS, revision="0017")
    assert {table for table, _ in _checks_in_database()} == {"enrolment_link"}  # its own, from 0015
    upgrade(directory=MIGRATIONS)
    assert _checks_in_database() == _checks_declared()
    db.session.expire_all()
    assert db.session.get(Submission, sub.id).body == sub.body
    with pytest.raises(Exception, match="append-only"):  # the audit triggers are still there
        db.session.execute(text("DELETE FROM audit_event WHERE id = :id"), {"id": first_event})
    db.session.rollback()
    later = factories.submission("The ferry pier at Sok Kwu Wan needs a covered waiting area for the typhoon season.")
    if backend == "sqlite":  # and so are the search index's
        found = db.session.execute(text("SELECT rowid FROM submission_fts WHERE submission_fts MATCH 'Sok Kwu Wan'"))
        assert later.id in found.scalars().all()


def test_audit_events_cannot_be_rewritten_even_in_sql(app):
    factories.submission()
    event_id = db.session.execute(select(AuditEvent.id)).scalars().first()
    for statement in (
        f"UPDATE audit_event SET action = 'forged' WHERE id = {event_id}",
        f"DELETE FROM audit_event WHERE id = {event_id}",
    ):
        with pytest.raises(Exception, match="append-only"):
            db.session.execute(text(statement))
        db.session.rollback()
    assert db.session.get(AuditEvent, event_id).action == "submitted"
