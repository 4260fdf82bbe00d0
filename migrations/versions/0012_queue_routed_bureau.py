"""The review queue filtered by the bureau a view is routed to: a partial index over the backlog

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-26

A view sent back for review keeps the bureau it was routed to, so the queue can be filtered by it
(moderation/queue.py, QueueFilter.final_bureau). Few views awaiting review have one, and PostgreSQL,
taking bureau and status for independent, walked the whole backlog in order looking for them (50,000
rows, 70 ms at a million views). Keyed like the queue's other filters (column, priority, id), the
matches are one range of a small index.
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

IN_QUEUE = "status IN ('needs_review', 'received')"


def upgrade():
    # A plain CREATE INDEX on SQLite too (no batch copy: it would lose migration 0009's triggers).
    op.create_index(
        "ix_submission_queue_bureau",
        "submission",
        ["bureau_code", "review_priority", "id"],
        postgresql_where=sa.text(IN_QUEUE),
        sqlite_where=sa.text(IN_QUEUE),
    )


def downgrade():
    op.drop_index("ix_submission_queue_bureau", table_name="submission")
