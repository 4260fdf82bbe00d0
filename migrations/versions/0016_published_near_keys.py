"""Near-copy keys say whether their view is published: the form's suggestions read those alone

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07

The submission form suggests published views like the draft being typed (POST /views/similar).
Its lookup read every view's band keys, then dropped the unpublished ones and looked for their
campaign's published copy: a draft like an unpublished campaign took about 2 ms longer to answer
than one like nothing, which told anyone typing that such a campaign was waiting. With
near_duplicate_key.published (kept by workflow as a view is published, hidden or rejected) and a
partial index over the published keys, the lookup reads published views only, so its work does
not depend on anything hidden.
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade():
    # A plain ADD COLUMN on SQLite too (batch mode would copy the table; see migration 0010).
    op.add_column("near_duplicate_key", sa.Column("published", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute(
        sa.text(
            "UPDATE near_duplicate_key SET published = :yes WHERE submission_id IN "
            "(SELECT id FROM submission WHERE visibility = 'published' AND status != 'rejected')"
        ).bindparams(sa.bindparam("yes", True, type_=sa.Boolean()))
    )
    op.create_index(
        "ix_near_duplicate_key_published",
        "near_duplicate_key",
        ["key", "submission_id"],
        postgresql_where=sa.text("published"),
        sqlite_where=sa.text("published"),
    )


def downgrade():
    op.drop_index("ix_near_duplicate_key_published", table_name="near_duplicate_key")
    with op.batch_alter_table("near_duplicate_key") as batch:
        batch.drop_column("published")
