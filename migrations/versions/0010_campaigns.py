"""Campaigns: near copies of one text grouped, found through an index of MinHash band keys

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26

- campaign: one text sent many times, lightly edited (feedback_app/campaigns/services.py).
- submission.campaign_id: the campaign a view belongs to, if any; submission.near_signature: its
  MinHash signature (feedback_app/text/near_duplicates.py, 512 bytes), kept to confirm later copies.
- near_duplicate_key: each view's 32 band keys. A new view's candidates are the views sharing any
  key: one indexed lookup, never a comparison with every stored view.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

IN_QUEUE = "status IN ('needs_review', 'received')"


def upgrade():
    op.create_table(
        "campaign",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "near_duplicate_key",
        sa.Column("key", sa.BigInteger(), nullable=False),
        sa.Column(
            "submission_id",
            sa.Integer(),
            sa.ForeignKey("submission.id", name="fk_near_duplicate_key_submission_id_submission"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("key", "submission_id", name="pk_near_duplicate_key"),
    )
    if op.get_bind().dialect.name == "sqlite":
        # A plain ADD COLUMN: batch mode would copy the table and lose its triggers and the
        # expression index of migration 0009. Written out whole (DDL takes no bound parameters).
        op.execute(
            "ALTER TABLE submission ADD COLUMN campaign_id INTEGER "
            "CONSTRAINT fk_submission_campaign_id_campaign REFERENCES campaign (id)"
        )
    else:
        op.add_column("submission", sa.Column("campaign_id", sa.Integer(), nullable=True))
        op.create_foreign_key("fk_submission_campaign_id_campaign", "submission", "campaign", ["campaign_id"], ["id"])
    op.add_column("submission", sa.Column("near_signature", sa.LargeBinary(), nullable=True))
    op.create_index("ix_submission_campaign_id", "submission", ["campaign_id", "id"])
    # The queue lists a campaign once, at its first copy still waiting: found by this index.
    op.create_index(
        "ix_submission_queue_campaign",
        "submission",
        ["campaign_id", "id"],
        postgresql_where=sa.text(IN_QUEUE),
        sqlite_where=sa.text(IN_QUEUE),
    )


def downgrade():
    op.drop_index("ix_submission_queue_campaign", table_name="submission")
    op.drop_index("ix_submission_campaign_id", table_name="submission")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE submission DROP COLUMN near_signature")
        op.execute("ALTER TABLE submission DROP COLUMN campaign_id")
    else:
        op.drop_constraint("fk_submission_campaign_id_campaign", "submission", type_="foreignkey")
        op.drop_column("submission", "near_signature")
        op.drop_column("submission", "campaign_id")
    op.drop_table("near_duplicate_key")
    op.drop_table("campaign")
