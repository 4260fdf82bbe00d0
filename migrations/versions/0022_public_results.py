"""The public sees the results: statistics rollups, the public data's version, personal data found

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07

- stats_month: the views received in a month, per smart area and bureau, as they stand (counts
  kept by the worker, rebuilt by `flask stats rebuild`; feedback_app/stats/).
- stats_distribution: values of a measure per month and bureau (days to answer, campaign sizes),
  so that medians over any period come from a few rows.
- stats_dirty_month: the months whose rollups wait to be recounted.
- public_state: one row, the version of what the public sees (caches and ETags) and when the
  rollups last took a change in.
- submission.personal_data_found: the masking found personal data in the view as sent.
- indexes: submission (created_at, id) for a month of views; (topic_area_code, visibility, id)
  for a smart area's published general views; answer (bureau_code, created_at, id) for a
  bureau's newest answers (its feed).
"""

import importlib
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

_0018 = importlib.import_module("migrations.versions.0018_status_checks")

MEASURES = ("answer_days", "campaign_size")
COUNTS = (
    "received",
    "published",
    "hidden",
    "rejected_spam",
    "rejected_abusive",
    "rejected_off_topic",
    "rejected_duplicate",
    "personal_data",
    "routed_auto",
    "routed_moderator",
    "overridden",
    "answered",
    "answered_on_time",
    "helped_yes",
    "helped_partly",
    "helped_no",
    "in_campaign",
)


def upgrade():
    stamp = sa.DateTime(timezone=True)
    op.add_column("submission", sa.Column("personal_data_found", sa.Boolean(), nullable=True))
    op.create_index("ix_submission_created_at", "submission", ["created_at", "id"])
    op.create_index("ix_submission_topic_area_visibility_id", "submission", ["topic_area_code", "visibility", "id"])
    op.create_index("ix_answer_bureau_created", "answer", ["bureau_code", "created_at", "id"])
    op.create_table(
        "stats_month",
        sa.Column("month", sa.Date(), primary_key=True),
        sa.Column("area_code", sa.String(20), primary_key=True),
        sa.Column("bureau_code", sa.String(10), primary_key=True),
        *[sa.Column(name, sa.Integer(), nullable=False) for name in COUNTS],
    )
    op.create_table(
        "stats_distribution",
        sa.Column("month", sa.Date(), primary_key=True),
        sa.Column("measure", sa.String(20), primary_key=True),
        sa.Column("bureau_code", sa.String(10), primary_key=True),
        sa.Column("value", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.CheckConstraint(_0018._condition("measure", MEASURES), name=op.f("ck_stats_distribution_measure")),
    )
    op.create_table(
        "stats_dirty_month",
        sa.Column("month", sa.Date(), primary_key=True),
        sa.Column("marked_at", stamp, nullable=False),
    )
    public_state = op.create_table(
        "public_state",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("changed_at", stamp, nullable=False),
        sa.Column("stats_refreshed_at", stamp, nullable=True),
    )
    op.bulk_insert(public_state, [{"id": 1, "version": 0, "changed_at": datetime.now(UTC)}])


def downgrade():
    bind = op.get_bind()
    for table in ("public_state", "stats_dirty_month", "stats_distribution", "stats_month"):
        op.drop_table(table)
    op.drop_index("ix_answer_bureau_created", table_name="answer")
    op.drop_index("ix_submission_topic_area_visibility_id", table_name="submission")
    op.drop_index("ix_submission_created_at", table_name="submission")
    if bind.dialect.name == "sqlite":
        op.execute("ALTER TABLE submission DROP COLUMN personal_data_found")
    else:
        op.drop_column("submission", "personal_data_found")
