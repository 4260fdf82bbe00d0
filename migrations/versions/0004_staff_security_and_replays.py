"""Two-factor sign-in, account audit, one-time submission form tokens

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26

- user_account: TOTP secret, last accepted time step, hashed recovery codes.
- audit_event.target_user_id: account changes (role, password, deactivation, two-factor) are
  audited like submission changes, naming the account they were made to.
- submission.form_token_hash: the one-time token of the form that sent a view, unique, so a
  replayed POST finds the stored view instead of storing a copy.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.add_column(sa.Column("totp_secret", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("totp_last_step", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("recovery_code_hashes", sa.JSON(), nullable=False, server_default="[]"))

    # A plain ADD COLUMN (no batch copy): on SQLite a batch would rebuild audit_event and drop
    # the append-only triggers of revision 0002 with the old table.
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "ALTER TABLE audit_event ADD COLUMN target_user_id INTEGER "
            "CONSTRAINT fk_audit_event_target_user_id_user_account REFERENCES user_account (id)"
        )
    else:
        op.add_column("audit_event", sa.Column("target_user_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            "fk_audit_event_target_user_id_user_account", "audit_event", "user_account", ["target_user_id"], ["id"]
        )
    op.create_index("ix_audit_event_target_user_id", "audit_event", ["target_user_id"], unique=False)

    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.add_column(sa.Column("form_token_hash", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_submission_form_token_hash"), ["form_token_hash"])


def downgrade():
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_submission_form_token_hash"), type_="unique")
        batch_op.drop_column("form_token_hash")

    op.drop_index("ix_audit_event_target_user_id", table_name="audit_event")
    if op.get_bind().dialect.name == "sqlite":
        # SQLite drops a column only if nothing references it; this one only references out.
        op.execute("ALTER TABLE audit_event DROP COLUMN target_user_id")
    else:
        op.drop_constraint("fk_audit_event_target_user_id_user_account", "audit_event", type_="foreignkey")
        op.drop_column("audit_event", "target_user_id")

    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_column("recovery_code_hashes")
        batch_op.drop_column("totp_last_step")
        batch_op.drop_column("totp_secret")
