"""One-time enrolment links for staff two-step sign-in; pending authenticator secrets on the server

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07

A staff account that never signed in could be enrolled by whoever had its password, and the
secret being set up travelled in the signed (readable) session cookie.

- enrolment_link: a one-time, expiring link an administrator (or `flask users create`) hands to
  the person; only a keyed hash of its token is stored. status is open, used or replaced (a newer
  link was issued); the partial unique index keeps at most one open link per account.
- user_account.totp_pending_secret: the authenticator secret an enrolment page showed, until a
  code from the app confirms it.
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_OPEN = "status = 'open'"


def upgrade():
    op.create_table(
        "enrolment_link",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "user_id",
            sa.Integer(),
            sa.ForeignKey("user_account.id", name="fk_enrolment_link_user_id_user_account"),
            nullable=False,
        ),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column(
            "issued_by_id",
            sa.Integer(),
            sa.ForeignKey("user_account.id", name="fk_enrolment_link_issued_by_id_user_account"),
            nullable=True,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("token_hash", name="uq_enrolment_link_token_hash"),
        sa.CheckConstraint("status IN ('open', 'used', 'replaced')", name="ck_enrolment_link_status"),
    )
    op.create_index("ix_enrolment_link_user_id", "enrolment_link", ["user_id"])
    op.create_index(
        "uq_enrolment_link_open_user_id",
        "enrolment_link",
        ["user_id"],
        unique=True,
        sqlite_where=sa.text(_OPEN),
        postgresql_where=sa.text(_OPEN),
    )
    # A plain ADD COLUMN (no batch copy of user_account, which other tables reference).
    op.add_column("user_account", sa.Column("totp_pending_secret", sa.String(64), nullable=True))


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE user_account DROP COLUMN totp_pending_secret")
    else:
        op.drop_column("user_account", "totp_pending_secret")
    op.drop_index("uq_enrolment_link_open_user_id", table_name="enrolment_link")
    op.drop_index("ix_enrolment_link_user_id", table_name="enrolment_link")
    op.drop_table("enrolment_link")
