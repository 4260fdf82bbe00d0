"""A bureau's workspace: deadlines, assignment, joint views, notes, templates, official contacts

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07

- bureau.answer_target_days: working days from routing to an answer's due date (default 10).
- submission: routed_at, due_at, assigned_to_id, answered_at, closed_at, sent_back_by_code,
  suggested_bureau_code, closing_note, and the inbox's indexes. Views already with a bureau take
  their routed_at from their last routing event (or their arrival), and their due date from it
  with the default target, computed here in Python (SQL knows no holiday calendar).
- submission.status gains "in_progress"; audit_event.action the bureau's actions. The CHECK
  constraints are replaced as 0018 made them (on SQLite by the same in-place schema edit).
- answer.language / translation: an answer in English, Chinese or both.
- joint_bureau, bureau_note, answer_template, official_contact: new tables.
"""

import importlib
from datetime import UTC

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

_0018 = importlib.import_module("migrations.versions.0018_status_checks")

STATUSES_BEFORE = ("received", "needs_review", "routed", "answered", "rejected", "closed")
STATUSES = ("received", "needs_review", "routed", "in_progress", "answered", "rejected", "closed")
ACTIONS_BEFORE = _0018.AUDIT_ACTIONS
ACTIONS = (
    *ACTIONS_BEFORE,
    "assigned",
    "note_added",
    "joint_invited",
    "bureau_reopened",
    "answer_template_saved",
    "answer_template_deleted",
    "answer_target_changed",
    "official_contacts_changed",
    "bureau_exported",
)
CHANGED = {("submission", "status"): (STATUSES_BEFORE, STATUSES), ("audit_event", "action"): (ACTIONS_BEFORE, ACTIONS)}

# (column, type, references) added to submission
SUBMISSION_COLUMNS = (
    ("routed_at", "TIMESTAMP", None),
    ("due_at", "TIMESTAMP", None),
    ("assigned_to_id", "INTEGER", "user_account"),
    ("answered_at", "TIMESTAMP", None),
    ("closed_at", "TIMESTAMP", None),
    ("sent_back_by_code", "VARCHAR(10)", None),
    ("suggested_bureau_code", "VARCHAR(10)", None),
    ("closing_note", "TEXT", None),
)
# SQLite adds a column with a foreign key, and drops columns, only by these statements. Identifiers
# cannot be bound parameters, so each is written out whole (nothing in them is variable).
SQLITE_ADD_WITH_REFERENCE = {
    "assigned_to_id": "ALTER TABLE submission ADD COLUMN assigned_to_id INTEGER "
    "CONSTRAINT fk_submission_assigned_to_id_user_account REFERENCES user_account (id)",
}
SQLITE_DROP = {
    "routed_at": "ALTER TABLE submission DROP COLUMN routed_at",
    "due_at": "ALTER TABLE submission DROP COLUMN due_at",
    "assigned_to_id": "ALTER TABLE submission DROP COLUMN assigned_to_id",
    "answered_at": "ALTER TABLE submission DROP COLUMN answered_at",
    "closed_at": "ALTER TABLE submission DROP COLUMN closed_at",
    "sent_back_by_code": "ALTER TABLE submission DROP COLUMN sent_back_by_code",
    "suggested_bureau_code": "ALTER TABLE submission DROP COLUMN suggested_bureau_code",
    "closing_note": "ALTER TABLE submission DROP COLUMN closing_note",
}
INDEXES = {
    "ix_submission_bureau_status_due": ("bureau_code", "status", "due_at", "id"),
    "ix_submission_bureau_due": ("bureau_code", "due_at", "id"),
    "ix_submission_bureau_id": ("bureau_code", "id", "status"),
    "ix_submission_assignee_status_due": ("assigned_to_id", "status", "due_at", "id"),
    "ix_submission_sent_back_by": ("sent_back_by_code", "id"),
    "ix_submission_bureau_answered": ("bureau_code", "answered_at"),
}


def _sa_type(name):
    return {
        "TIMESTAMP": sa.DateTime(timezone=True),
        "INTEGER": sa.Integer(),
        "VARCHAR(10)": sa.String(10),
        "TEXT": sa.Text(),
    }[name]


def _replace_checks(bind, forward):
    if bind.dialect.name == "sqlite":

        def change(table, create):
            for (t, column), (before, after) in CHANGED.items():
                if t == table:
                    old, new = (before, after) if forward else (after, before)
                    clause = _0018._clause(table, column, old)
                    assert clause in create, (table, column)
                    create = create.replace(clause, _0018._clause(table, column, new))
            return create

        # 0018's in-place schema edit, over its tables; the change leaves the others as they are.
        _0018._rewrite_sqlite_tables(bind, change)
    else:
        for (table, column), (before, after) in CHANGED.items():
            values = after if forward else before
            op.drop_constraint(op.f(f"ck_{table}_{column}"), table, type_="check")
            op.create_check_constraint(op.f(f"ck_{table}_{column}"), table, _0018._condition(column, values))


def _fill_due_dates(bind):
    # The app's own calendar (a pure module: Hong Kong working days from the `holidays` package);
    # a migration of the past would compute with today's module, which only ever adds holidays.
    from feedback_app.kernel import deadlines

    stamp = sa.DateTime(timezone=True)
    submission = sa.table(
        "submission", sa.column("id", sa.Integer()), sa.column("routed_at", stamp), sa.column("due_at", stamp)
    )
    rows = bind.execute(
        sa.select(submission.c.id, submission.c.routed_at).where(submission.c.routed_at.is_not(None))
    ).all()
    for row in rows:
        routed_at = row.routed_at if row.routed_at.tzinfo else row.routed_at.replace(tzinfo=UTC)  # SQLite: no offset
        due = deadlines.due_at(routed_at, deadlines.DEFAULT_TARGET_DAYS).astimezone(UTC)
        if bind.dialect.name == "sqlite":  # stored as the app stores it (models.UTCDateTime): UTC, no offset
            due = due.replace(tzinfo=None)
        bind.execute(submission.update().where(submission.c.id == row.id).values(due_at=due))


def upgrade():
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    op.add_column("bureau", sa.Column("answer_target_days", sa.Integer(), nullable=False, server_default="10"))
    for column, type_, references in SUBMISSION_COLUMNS:
        if sqlite and references:
            op.execute(SQLITE_ADD_WITH_REFERENCE[column])
        else:
            op.add_column("submission", sa.Column(column, _sa_type(type_), nullable=True))
            if references:
                op.create_foreign_key(
                    f"fk_submission_{column}_{references}", "submission", references, [column], ["id"]
                )
    for name, columns in INDEXES.items():
        op.create_index(name, "submission", list(columns))
    # Views already with a bureau: reached it when last routed (else when they arrived).
    op.execute(
        """
        UPDATE submission SET routed_at = COALESCE(
            (SELECT MAX(e.created_at) FROM audit_event e
              WHERE e.submission_id = submission.id
                AND e.action IN ('auto_routed', 'route_confirmed', 'route_changed')),
            submission.created_at)
        WHERE status IN ('routed', 'answered', 'closed')
        """
    )
    op.execute(
        """
        UPDATE submission SET answered_at = (SELECT MIN(a.created_at) FROM answer a WHERE a.submission_id = submission.id)
        WHERE status IN ('answered', 'closed')
        """
    )
    _fill_due_dates(bind)
    _replace_checks(bind, forward=True)

    op.add_column("answer", sa.Column("language", sa.String(2), nullable=False, server_default="en"))
    op.add_column("answer", sa.Column("translation", sa.Text(), nullable=True))

    op.create_table(
        "joint_bureau",
        sa.Column("submission_id", sa.Integer(), sa.ForeignKey("submission.id"), primary_key=True, autoincrement=False),
        sa.Column("bureau_code", sa.String(10), sa.ForeignKey("bureau.code"), primary_key=True),
        sa.Column("invited_by_id", sa.Integer(), sa.ForeignKey("user_account.id"), nullable=False),
        sa.Column("invited_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_joint_bureau_bureau_code", "joint_bureau", ["bureau_code"])
    op.create_table(
        "bureau_note",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("submission_id", sa.Integer(), sa.ForeignKey("submission.id"), nullable=False),
        sa.Column("bureau_code", sa.String(10), sa.ForeignKey("bureau.code"), nullable=False),
        sa.Column("author_id", sa.Integer(), sa.ForeignKey("user_account.id"), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_bureau_note_submission_id", "bureau_note", ["submission_id", "id"])
    op.create_table(
        "answer_template",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("bureau_code", sa.String(10), sa.ForeignKey("bureau.code"), nullable=False),
        sa.Column("title", sa.String(120), nullable=False),
        sa.Column("body_en", sa.Text(), nullable=True),
        sa.Column("body_zh", sa.Text(), nullable=True),
        sa.Column("updated_by_id", sa.Integer(), sa.ForeignKey("user_account.id"), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("bureau_code", "title"),
    )
    op.create_table(
        "official_contact",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("bureau_code", sa.String(10), sa.ForeignKey("bureau.code"), nullable=False),
        sa.Column("value", sa.String(254), nullable=False),
        sa.Column("label_en", sa.String(120), nullable=True),
        sa.Column("label_zh", sa.String(120), nullable=True),
        sa.UniqueConstraint("bureau_code", "value"),
    )


def downgrade():
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    for table in ("official_contact", "answer_template", "bureau_note", "joint_bureau"):
        op.drop_table(table)
    if sqlite:
        op.execute("ALTER TABLE answer DROP COLUMN translation")
        op.execute("ALTER TABLE answer DROP COLUMN language")
    else:
        op.drop_column("answer", "translation")
        op.drop_column("answer", "language")
    op.execute("UPDATE submission SET status = 'routed' WHERE status = 'in_progress'")
    # The audit log is append-only: with any bureau event recorded, the old constraint cannot be
    # put back and the downgrade stops there (by design: history is never deleted).
    _replace_checks(bind, forward=False)
    for name in INDEXES:
        op.drop_index(name, "submission")
    for column, _type, references in reversed(SUBMISSION_COLUMNS):
        if sqlite:
            op.execute(SQLITE_DROP[column])
        else:
            if references:
                op.drop_constraint(f"fk_submission_{column}_{references}", "submission", type_="foreignkey")
            op.drop_column("submission", column)
    if sqlite:
        op.execute("ALTER TABLE bureau DROP COLUMN answer_target_days")
    else:
        op.drop_column("bureau", "answer_target_days")
