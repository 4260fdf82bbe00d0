"""Who is working on a view: a moderator holds it while it is open

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26

- submission.held_by_id / held_at: the moderator who opened the view last, and when; other
  moderators see it in the queue and on the view while the hold is recent (moderation.HOLD_FOR).
  A hold changes nothing about the view: it does not count as a change for stale-save checks.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

FK = "fk_submission_held_by_id_user_account"


def upgrade():
    if op.get_bind().dialect.name == "sqlite":
        # Written out whole: a DDL statement takes no bound parameters, and nothing here is variable.
        op.execute(
            "ALTER TABLE submission ADD COLUMN held_by_id INTEGER "
            "CONSTRAINT fk_submission_held_by_id_user_account REFERENCES user_account (id)"
        )
    else:
        op.add_column("submission", sa.Column("held_by_id", sa.Integer(), nullable=True))
        op.create_foreign_key(FK, "submission", "user_account", ["held_by_id"], ["id"])
    op.add_column("submission", sa.Column("held_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE submission DROP COLUMN held_at")
        op.execute("ALTER TABLE submission DROP COLUMN held_by_id")
    else:
        op.drop_column("submission", "held_at")
        op.drop_constraint(FK, "submission", type_="foreignkey")
        op.drop_column("submission", "held_by_id")
