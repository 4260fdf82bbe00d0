"""Retraining by the worker, and classifier versions in the audit history

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26

- training_run: one retraining asked for (from the admin page or the CLI) and run by the worker:
  its progress, its outcome (the version it made, whether the quality gate let it be activated).
- audit_event.classifier_version_id: activation, rollback and retraining are audited, naming the
  version they were about.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "training_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=80), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("version_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["requested_by_id"], ["user_account.id"], name=op.f("fk_training_run_requested_by_id_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["version_id"], ["classifier_version.id"], name=op.f("fk_training_run_version_id_classifier_version")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_run")),
    )
    # A plain ADD COLUMN on SQLite: a batch copy would drop audit_event's append-only triggers.
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "ALTER TABLE audit_event ADD COLUMN classifier_version_id INTEGER "
            "CONSTRAINT fk_audit_event_classifier_version_id_classifier_version REFERENCES classifier_version (id)"
        )
    else:
        op.add_column("audit_event", sa.Column("classifier_version_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            "fk_audit_event_classifier_version_id_classifier_version",
            "audit_event",
            "classifier_version",
            ["classifier_version_id"],
            ["id"],
        )
    op.create_index("ix_audit_event_classifier_version_id", "audit_event", ["classifier_version_id"], unique=False)


def downgrade():
    op.drop_index("ix_audit_event_classifier_version_id", table_name="audit_event")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE audit_event DROP COLUMN classifier_version_id")
    else:
        op.drop_constraint("fk_audit_event_classifier_version_id_classifier_version", "audit_event", type_="foreignkey")
        op.drop_column("audit_event", "classifier_version_id")
    op.drop_table("training_run")
