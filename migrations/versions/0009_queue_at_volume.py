"""The review queue at a million views: its order, partial indexes and text search

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26

- submission.review_priority: the view's group in the queue (0 flagged, 1 low confidence or no
  prediction, 2 the rest; feedback_app/kernel/triage.py), kept by the model on every write and filled
  here for what is stored.
- Partial indexes over what awaits review only (status needs_review or received): the backlog is
  a small, new part of a large table, and every order and common filter of the queue is a range
  of one of them. The queries write the same status list as constants, so both databases can
  prove a query lies inside an index (moderation/queue.py).
- Text search: on PostgreSQL a stored text-search document (submission.search_document, 'simple'
  configuration, a space put around each Han character) with GIN indexes over the whole table
  and over the backlog (feedback_app/moderation/search.py reads it); on SQLite an FTS5
  trigram table kept by triggers (a view's text never changes after it is stored; it is deleted
  only with the view).
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

IN_QUEUE = "status IN ('needs_review', 'received')"
PARTIAL = {
    "ix_submission_queue_priority": ["review_priority", "id"],
    "ix_submission_queue_age": ["id"],
    "ix_submission_queue_predicted_bureau": ["predicted_bureau_code", "review_priority", "id"],
    "ix_submission_queue_predicted_area": ["predicted_area_code", "review_priority", "id"],
    "ix_submission_queue_initiative": ["initiative_id", "review_priority", "id"],
    # Every column the backlog's counts group by: counted from the index alone.
    "ix_submission_queue_facets": [
        "predicted_bureau_code",
        "predicted_area_code",
        "language",
        "review_priority",
        "predicted_bureau_p",
    ],
}
# No prediction sorts first; moderation/queue.py's CONFIDENCE_KEY is this expression.
CONFIDENCE_INDEX = (
    "CREATE INDEX ix_submission_queue_confidence ON submission "
    "(coalesce(predicted_bureau_p, -1), id) WHERE status IN ('needs_review', 'received')"
)
# Stored, not an expression index: a Chinese query is a phrase, which PostgreSQL must recheck
# on each candidate row; reading a stored document is cheap, making it again for each is not.
PG_SEARCH = [
    "ALTER TABLE submission ADD COLUMN search_document tsvector GENERATED ALWAYS AS "
    "(to_tsvector('simple'::regconfig, regexp_replace(body, '([\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff])', "
    "' \\1 ', 'g'))) STORED",
    "CREATE INDEX ix_submission_search ON submission USING gin (search_document)",
    # The backlog's own: a search in the queue reads only what awaits review.
    "CREATE INDEX ix_submission_queue_search ON submission USING gin (search_document) "
    "WHERE status IN ('needs_review', 'received')",
]
SQLITE_SEARCH = [
    "CREATE VIRTUAL TABLE submission_fts USING fts5(body, content='submission', content_rowid='id', "
    "tokenize='trigram')",
    "CREATE TRIGGER submission_fts_insert AFTER INSERT ON submission BEGIN "
    "INSERT INTO submission_fts (rowid, body) VALUES (new.id, new.body); END",
    "CREATE TRIGGER submission_fts_delete AFTER DELETE ON submission BEGIN "
    "INSERT INTO submission_fts (submission_fts, rowid, body) VALUES ('delete', old.id, old.body); END",
    "CREATE TRIGGER submission_fts_update AFTER UPDATE OF body ON submission BEGIN "
    "INSERT INTO submission_fts (submission_fts, rowid, body) VALUES ('delete', old.id, old.body); "
    "INSERT INTO submission_fts (rowid, body) VALUES (new.id, new.body); END",
    "INSERT INTO submission_fts (submission_fts) VALUES ('rebuild')",
]


def upgrade():
    op.add_column("submission", sa.Column("review_priority", sa.SmallInteger(), nullable=False, server_default="2"))
    op.execute(
        "UPDATE submission SET review_priority = CASE WHEN flags <> '' THEN 0 "
        "WHEN predicted_bureau_p IS NULL OR predicted_bureau_p < 0.5 THEN 1 ELSE 2 END"
    )
    for name, columns in PARTIAL.items():
        op.create_index(name, "submission", columns, postgresql_where=sa.text(IN_QUEUE), sqlite_where=sa.text(IN_QUEUE))
    op.execute(CONFIDENCE_INDEX)
    if op.get_bind().dialect.name == "postgresql":
        for statement in PG_SEARCH:
            op.execute(statement)
    else:
        for statement in SQLITE_SEARCH:
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_submission_queue_search", table_name="submission")
        op.drop_index("ix_submission_search", table_name="submission")
        op.drop_column("submission", "search_document")
    else:
        op.execute("DROP TRIGGER submission_fts_insert")
        op.execute("DROP TRIGGER submission_fts_delete")
        op.execute("DROP TRIGGER submission_fts_update")
        op.execute("DROP TABLE submission_fts")
    op.drop_index("ix_submission_queue_confidence", table_name="submission")
    for name in PARTIAL:
        op.drop_index(name, table_name="submission")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE submission DROP COLUMN review_priority")
    else:
        op.drop_column("submission", "review_priority")
