"""A bureau's inbox at a million views: campaigns' first copies, and views awaiting an answer by due date

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07

Measured by `python -m bench inbox` (1,000,000 views, 50,000 of them one bureau's; PostgreSQL):
- ix_submission_campaign_tab (campaign_id, bureau_code, status, id): a campaign is listed once, at
  its first copy in the tab (bureau/inbox.py, _first_copy). With only (campaign_id, id), each
  campaign on a page cost a BitmapAnd of the campaign's copies with the whole tab (9,625 rows for
  "new"): 43 ms for the first page of "new". Now an index-only range: 0.3 ms.
- ix_submission_awaiting_due (bureau_code, due_at, id) over views awaiting an answer: "overdue"
  in the "all" tab walked the bureau's due dates from the oldest, past 32,500 answered and closed
  views (480 ms); now one range (0.5 ms).
- ix_submission_awaiting_assignee_due (assigned_to_id, bureau_code, due_at, id) over the same:
  "assigned to me" (two statuses) was a BitmapAnd of the officer's views with the bureau's and a
  sort of 1,500 rows (60-150 ms); now one range read in order (0.3 ms).
- ix_submission_assignee_bureau_due (assigned_to_id, bureau_code, due_at, id): the assignee
  filter in any tab was a BitmapAnd of the officer's views with the bureau's and a sort of 7,500
  rows (78 ms); now one range in order (0.6 ms).
- ix_submission_sent_back_waiting (sent_back_by_code, id) over views awaiting review: "sent back"
  was a BitmapAnd of the bureau's sent-back views with the whole backlog (47,500 rows) and a sort
  (30 ms); now one range in order (0.6 ms).
- ix_submission_bureau_initiative_due (bureau_code, initiative_id, due_at, id): the initiative
  filter was a BitmapAnd of the initiative's views (9,600) with the bureau's (50,000) and a sort
  (67 ms); now one range in order (0.6 ms).
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

# workflow.AWAITING_ANSWER, written out as the partial indexes' SQL (models.py declares the same).
AWAITING_ANSWER = "status IN ('routed', 'in_progress')"
# workflow.AWAITING_REVIEW, as migration 0009's partial indexes write it.
AWAITING_REVIEW = "status IN ('needs_review', 'received')"
INDEXES = {
    "ix_submission_campaign_tab": (("campaign_id", "bureau_code", "status", "id"), None),
    "ix_submission_awaiting_due": (("bureau_code", "due_at", "id"), AWAITING_ANSWER),
    "ix_submission_awaiting_assignee_due": (("assigned_to_id", "bureau_code", "due_at", "id"), AWAITING_ANSWER),
    "ix_submission_assignee_bureau_due": (("assigned_to_id", "bureau_code", "due_at", "id"), None),
    "ix_submission_sent_back_waiting": (("sent_back_by_code", "id"), AWAITING_REVIEW),
    "ix_submission_bureau_initiative_due": (("bureau_code", "initiative_id", "due_at", "id"), None),
}


def upgrade():
    # A plain CREATE INDEX on SQLite too (no batch copy: it would lose migration 0009's triggers).
    for name, (columns, where) in INDEXES.items():
        condition = sa.text(where) if where else None
        op.create_index(name, "submission", list(columns), postgresql_where=condition, sqlite_where=condition)


def downgrade():
    for name in reversed(INDEXES):
        op.drop_index(name, table_name="submission")
