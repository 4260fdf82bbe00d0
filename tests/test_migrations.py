"""The schema exists only through migrations, and the models agree with them."""
import warnings

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select, text

from feedback_app.extensions import db
from feedback_app.kernel.models import AuditEvent

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


def test_audit_events_cannot_be_rewritten_even_in_sql(app):
    factories.submission()
    event_id = db.session.execute(select(AuditEvent.id)).scalars().first()
    for statement in (f"UPDATE audit_event SET action = 'forged' WHERE id = {event_id}",
                      f"DELETE FROM audit_event WHERE id = {event_id}"):
        with pytest.raises(Exception, match="append-only"):
            db.session.execute(text(statement))
        db.session.rollback()
    assert db.session.get(AuditEvent, event_id).action == "submitted"
