"""Indexes for the review queue's filters

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25

Moderators filter the queue by predicted area and bureau and by publication state; without
these, each filter scans every submission of a status.
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_submission_status_predicted_area_id": ["status", "predicted_area_code", "id"],
    "ix_submission_status_predicted_bureau_id": ["status", "predicted_bureau_code", "id"],
    "ix_submission_visibility_status_id": ["visibility", "status", "id"],
}


def upgrade():
    for name, columns in INDEXES.items():
        op.create_index(name, "submission", columns)


def downgrade():
    for name in INDEXES:
        op.drop_index(name, table_name="submission")
