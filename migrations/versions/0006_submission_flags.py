"""Flags on a view: why it looks like abuse or spam (feedback_app/text/abuse.py)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26

- submission.flags: the reasons a view was flagged when it was stored, as comma-separated codes
  ("" when none). A flagged view is never routed automatically; a moderator decides.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    # A plain ADD COLUMN on both databases (SQLite takes it with a default).
    op.add_column("submission", sa.Column("flags", sa.String(length=200), nullable=False, server_default=""))


def downgrade():
    with op.batch_alter_table("submission") as batch:
        batch.drop_column("flags")
