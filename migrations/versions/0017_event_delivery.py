"""Events after commit: where each committed event's delivery to each handler stands

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07

The audit log is the event log (feedback_app/kernel/events.py): every change of state already
writes its audit event in the change's own transaction. event_delivery keeps, per (handler,
event), the attempts made, when the next may be made (a claim's lease or a failure's wait),
when it was delivered and the last error; its partial index lists only what is still to try, and
its key, handler first, finds a handler's first delivery (where the sweep starts for it).
The events' sweep looks for recent events of the subscribed kinds by (action, created_at).
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "event_delivery",
        sa.Column("handler", sa.String(length=100), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["event_id"], ["audit_event.id"], name="fk_event_delivery_event_id_audit_event"),
        sa.PrimaryKeyConstraint("handler", "event_id", name="pk_event_delivery"),
    )
    op.create_index(
        "ix_event_delivery_due",
        "event_delivery",
        ["next_attempt_at"],
        postgresql_where=sa.text("next_attempt_at IS NOT NULL"),
        sqlite_where=sa.text("next_attempt_at IS NOT NULL"),
    )
    op.create_index("ix_audit_event_action_created_at", "audit_event", ["action", "created_at"])


def downgrade():
    op.drop_index("ix_audit_event_action_created_at", table_name="audit_event")
    op.drop_index("ix_event_delivery_due", table_name="event_delivery")
    op.drop_table("event_delivery")
