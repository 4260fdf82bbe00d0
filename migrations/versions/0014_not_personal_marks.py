"""Spans a moderator marked as not personal data

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07

A moderator's edit of a view's published text is masked like any other text now (it was
published as typed). Where the automatic masking takes something that is not personal data (a
date written as eight digits, a shop's hotline), the moderator marks it instead of retyping it:

- submission.not_personal: the texts of the findings marked "not personal data" (a JSON list of
  strings, NULL when none). Only texts the masking found in the view can be marked; each mark and
  unmark is audited.
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("submission", sa.Column("not_personal", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("submission") as batch:
        batch.drop_column("not_personal")
