"""Residents' support for published views, and which client sent a view (hashed)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26

- support: a resident adding their support to a published view instead of writing a copy of it
  (feedback_app/campaigns/support.py). One row per view and supporter: supporter_hash is a keyed hash of
  the account or of a random device cookie, never the cookie itself; the unique constraint is
  what counts a supporter once.
- submission.client_hash: a keyed, truncated hash of the sending client's address
  (feedback_app/text/abuse.py), to flag many views from one client in a short time. The index
  answers "how many from this client since" with one range.
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "support",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "submission_id",
            sa.Integer(),
            sa.ForeignKey("submission.id", name="fk_support_submission_id_submission"),
            nullable=False,
        ),
        sa.Column("supporter_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("submission_id", "supporter_hash", name="uq_support_submission_id"),
    )
    # A plain ADD COLUMN on SQLite (no batch copy: it would lose migration 0009's triggers and
    # expression index); the same statement suits PostgreSQL.
    op.add_column("submission", sa.Column("client_hash", sa.String(32), nullable=True))
    op.create_index("ix_submission_client_hash", "submission", ["client_hash", "created_at"])


def downgrade():
    op.drop_index("ix_submission_client_hash", table_name="submission")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE submission DROP COLUMN client_hash")
    else:
        op.drop_column("submission", "client_hash")
    op.drop_table("support")
