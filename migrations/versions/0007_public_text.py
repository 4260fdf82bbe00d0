"""The text of a view as published, when a moderator edited its redaction

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26

- submission.public_text: what the public pages show instead of the automatic redaction of the
  view (NULL: the automatic one). The view's own text never changes and stays for staff only.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("submission", sa.Column("public_text", sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table("submission") as batch:
        batch.drop_column("public_text")
