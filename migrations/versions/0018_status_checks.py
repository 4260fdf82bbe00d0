"""CHECK constraints keep every status column to its set of values

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07

The values were checked only by the application (its enums in kernel/models.py); a raw SQL
statement, a script or a bug could store any string. Now the database refuses them too:

- initiative.status, user_account.role, training_run.status, audit_event.action,
  submission.status / visibility / rejection_reason (NULL: none) / review_priority.
  enrolment_link.status had its constraint already (0015), though under a doubled name
  (ck_enrolment_link_ck_enrolment_link_status: Alembic applied the naming convention to a name
  given in full); it takes the name the model gives it.

A later migration that adds a value to one of these sets (a new audit action, say) replaces the
constraint the same way; test_migrations fails until it does.

On SQLite a CHECK cannot be added by ALTER TABLE, and the usual batch copy of the table cannot
run here: user_account, initiative and submission are referenced by other tables (dropping them
with rows fails while foreign keys are enforced), and a copy loses submission's expression and FTS
triggers and audit_event's append-only triggers. A CHECK changes nothing stored on disk, so the
table's CREATE statement is rewritten in place instead, the procedure SQLite's ALTER TABLE page
gives for such changes (writable_schema, then a schema_version bump), after the rows are checked.
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

AUDIT_ACTIONS = (
    "submitted",
    "auto_routed",
    "queued_for_review",
    "classification_failed",
    "route_confirmed",
    "route_changed",
    "rejected",
    "reopened",
    "visibility_published",
    "visibility_hidden",
    "answered",
    "sent_back",
    "closed",
    "public_text_edited",
    "not_personal_marked",
    "joined_campaign",
    "split_from_campaign",
    "account_created",
    "password_changed",
    "role_changed",
    "account_deactivated",
    "account_reactivated",
    "two_factor_enabled",
    "two_factor_disabled",
    "two_factor_reset",
    "two_factor_recovery_code_used",
    "enrolment_link_issued",
    "enrolment_link_used",
    "classifier_trained",
    "classifier_activated",
    "classifier_rolled_back",
)

# table -> column -> allowed values (each constraint is named ck_<table>_<column>)
CHECKS = {
    "initiative": {"status": ("listed", "in_service", "ended")},
    "user_account": {"role": ("resident", "moderator", "officer", "admin")},
    "training_run": {"status": ("queued", "running", "done", "failed")},
    "audit_event": {"action": AUDIT_ACTIONS},
    "submission": {
        "status": ("received", "needs_review", "routed", "answered", "rejected", "closed"),
        "visibility": ("pending", "published", "hidden"),
        "rejection_reason": ("spam", "abusive", "off_topic", "duplicate"),
        "review_priority": (0, 1, 2),
    },
}

# table -> (name the database has, name the model gives)
RENAMES = {"enrolment_link": ("ck_enrolment_link_ck_enrolment_link_status", "ck_enrolment_link_status")}


def _condition(column, values):
    listed = ", ".join(str(v) if isinstance(v, int) else f"'{v}'" for v in values)
    return f"{column} IN ({listed})"


def _clause(table, column, values):
    return f",\n\tCONSTRAINT ck_{table}_{column} CHECK ({_condition(column, values)})"


def _refuse_rows_outside(bind, table, column, values):
    rows = bind.execute(
        sa.select(sa.func.count())
        .select_from(sa.table(table))
        .where(sa.not_(sa.literal_column(_condition(column, values))))
    ).scalar_one()
    if rows:
        raise RuntimeError(f"{rows} rows of {table} have a {column} outside {values}: correct them first")


def _rewrite_sqlite_tables(bind, change):
    """change(table, create_sql) -> new create_sql, for each table of CHECKS, in one schema edit."""
    statements = {}
    for table in (*CHECKS, *RENAMES):
        create = bind.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
        ).scalar_one()
        statements[table] = change(table, create)
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar_one()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    for table, create in statements.items():
        bind.exec_driver_sql("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?", (create, table))
    bind.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema = OFF")
    # quick_check: the schema parses and every row meets its CHECKs (linear; no index cross-check)
    problems = bind.exec_driver_sql("PRAGMA quick_check").scalars().all()
    if problems != ["ok"]:
        raise RuntimeError(f"SQLite integrity check after adding the constraints: {problems}")


def _add_clauses(table, create):
    if table in RENAMES:
        old, new = RENAMES[table]
        return create.replace(f"CONSTRAINT {old} CHECK", f"CONSTRAINT {new} CHECK")
    body = create.rstrip()
    assert body.endswith(")"), create
    return body[:-1].rstrip() + "".join(_clause(table, c, v) for c, v in CHECKS[table].items()) + "\n)"


def _drop_clauses(table, create):
    if table in RENAMES:
        old, new = RENAMES[table]
        return create.replace(f"CONSTRAINT {new} CHECK", f"CONSTRAINT {old} CHECK")
    for column, values in CHECKS[table].items():
        clause = _clause(table, column, values)
        assert clause in create, (table, column)
        create = create.replace(clause, "")
    return create


def upgrade():
    bind = op.get_bind()
    for table, columns in CHECKS.items():
        for column, values in columns.items():
            _refuse_rows_outside(bind, table, column, values)
    if bind.dialect.name == "sqlite":
        _rewrite_sqlite_tables(bind, _add_clauses)
    else:
        _rename_postgresql(bind, forward=True)
        for table, columns in CHECKS.items():
            for column, values in columns.items():
                # op.f(): the name is final (the naming convention would prefix it a second time).
                op.create_check_constraint(op.f(f"ck_{table}_{column}"), table, _condition(column, values))


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        _rewrite_sqlite_tables(bind, _drop_clauses)
    else:
        for table, columns in CHECKS.items():
            for column in columns:
                op.drop_constraint(op.f(f"ck_{table}_{column}"), table, type_="check")
        _rename_postgresql(bind, forward=False)


# Identifiers cannot be bound parameters, so the one rename is written out in both directions.
RENAME_STATEMENTS = {
    True: "ALTER TABLE enrolment_link RENAME CONSTRAINT ck_enrolment_link_ck_enrolment_link_status"
    " TO ck_enrolment_link_status",
    False: "ALTER TABLE enrolment_link RENAME CONSTRAINT ck_enrolment_link_status"
    " TO ck_enrolment_link_ck_enrolment_link_status",
}


def _rename_postgresql(bind, forward):
    old, new = RENAMES["enrolment_link"]
    before = old if forward else new
    if before in {check["name"] for check in sa.inspect(bind).get_check_constraints("enrolment_link")}:
        op.execute(sa.text(RENAME_STATEMENTS[forward]))
