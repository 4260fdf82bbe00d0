"""Whether the semantic model had a part in a view's stored prediction

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-26

The explanation staff read beside a prediction (routing.explain) said the semantic model "also
weighed in" whenever the version had one, even for a view predicted while ROUTING_SEMANTIC was
off or its embedding failed; the word weights were scaled for the mixed model too. NULL for views
predicted before this column: they are explained as before.
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    # A plain ADD COLUMN on SQLite too (no batch copy: it would lose migration 0009's triggers).
    op.add_column("submission", sa.Column("predicted_semantic", sa.Boolean(), nullable=True))


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE submission DROP COLUMN predicted_semantic")
    else:
        op.drop_column("submission", "predicted_semantic")
