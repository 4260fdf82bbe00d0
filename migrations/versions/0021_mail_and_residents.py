"""Residents are told: the mail outbox, confirmed addresses, "did this answer you?", residents' accounts

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07

- outbox_message: each e-mail, written in the transaction of the change it tells about and sent
  by a worker (feedback_app/mail/), with its status, tries and Message-ID.
- mail_suppression: keyed hashes of addresses that unsubscribed.
- submission.mail_confirmed_at: the sender confirmed they want updates by e-mail.
- user_account: email_verified_at (every account made before now counts as verified: staff
  accounts are made by an administrator, residents' by the demo command), locale, deleted_at,
  digest_sent_until.
- answer_feedback: "did this answer your point?", once per view.
- initiative_follow: the initiatives a resident follows (the weekly digest).
- audit_event.action gains the residents' and the outbox's actions (CHECK replaced as 0019 did).
"""

import importlib

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

_0018 = importlib.import_module("migrations.versions.0018_status_checks")
_0019 = importlib.import_module("migrations.versions.0019_bureau_workspace")

ACTIONS_BEFORE = _0019.ACTIONS
ACTIONS = (
    *ACTIONS_BEFORE,
    "mail_confirmed",
    "answer_feedback_given",
    "view_attached",
    "account_signed_up",
    "email_verified",
    "account_data_exported",
    "account_deleted",
    "mail_retried",
)
OUTBOX_STATUSES = ("pending", "sending", "sent", "failed")
VERDICTS = ("yes", "partly", "no")
OUTBOX_WAITING = "status IN ('pending', 'sending')"
USER_COLUMNS = ("email_verified_at", "locale", "deleted_at", "digest_sent_until")
# SQLite drops a column only by this statement; identifiers cannot be bound, so each is written out.
SQLITE_DROP = {
    "email_verified_at": "ALTER TABLE user_account DROP COLUMN email_verified_at",
    "locale": "ALTER TABLE user_account DROP COLUMN locale",
    "deleted_at": "ALTER TABLE user_account DROP COLUMN deleted_at",
    "digest_sent_until": "ALTER TABLE user_account DROP COLUMN digest_sent_until",
    "mail_confirmed_at": "ALTER TABLE submission DROP COLUMN mail_confirmed_at",
}


def _replace_action_check(bind, forward):
    old, new = (ACTIONS_BEFORE, ACTIONS) if forward else (ACTIONS, ACTIONS_BEFORE)
    if bind.dialect.name == "sqlite":

        def change(table, create):
            if table != "audit_event":
                return create
            clause = _0018._clause("audit_event", "action", old)
            assert clause in create
            return create.replace(clause, _0018._clause("audit_event", "action", new))

        _0018._rewrite_sqlite_tables(bind, change)
    else:
        op.drop_constraint(op.f("ck_audit_event_action"), "audit_event", type_="check")
        op.create_check_constraint(op.f("ck_audit_event_action"), "audit_event", _0018._condition("action", new))


def upgrade():
    bind = op.get_bind()
    stamp = sa.DateTime(timezone=True)
    op.add_column("submission", sa.Column("mail_confirmed_at", stamp, nullable=True))
    op.add_column("user_account", sa.Column("email_verified_at", stamp, nullable=True))
    op.add_column("user_account", sa.Column("locale", sa.String(10), nullable=True))
    op.add_column("user_account", sa.Column("deleted_at", stamp, nullable=True))
    op.add_column("user_account", sa.Column("digest_sent_until", stamp, nullable=True))
    op.execute("UPDATE user_account SET email_verified_at = created_at")
    _replace_action_check(bind, forward=True)

    op.create_table(
        "outbox_message",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("message_id", sa.String(200), nullable=False, unique=True),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("locale", sa.String(10), nullable=False),
        sa.Column("recipient", sa.String(254), nullable=True),
        sa.Column("recipient_hash", sa.String(64), nullable=False),
        sa.Column("submission_id", sa.Integer(), sa.ForeignKey("submission.id"), nullable=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("user_account.id"), nullable=True),
        sa.Column("audit_event_id", sa.Integer(), sa.ForeignKey("audit_event.id"), nullable=True),
        sa.Column("context", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", stamp, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", stamp, nullable=False),
        sa.Column("sent_at", stamp, nullable=True),
        sa.CheckConstraint(_0018._condition("status", OUTBOX_STATUSES), name=op.f("ck_outbox_message_status")),
    )
    op.create_index("ix_outbox_message_submission_id", "outbox_message", ["submission_id"])
    op.create_index("ix_outbox_message_user_id", "outbox_message", ["user_id"])
    op.create_index("ix_outbox_message_audit_event_id", "outbox_message", ["audit_event_id"])
    op.create_index("ix_outbox_message_recipient", "outbox_message", ["recipient_hash", "created_at"])
    op.create_index("ix_outbox_message_status_id", "outbox_message", ["status", "id"])
    op.create_index(
        "ix_outbox_message_due",
        "outbox_message",
        ["next_attempt_at"],
        sqlite_where=sa.text(OUTBOX_WAITING),
        postgresql_where=sa.text(OUTBOX_WAITING),
    )
    op.create_table(
        "mail_suppression",
        sa.Column("address_hash", sa.String(64), primary_key=True),
        sa.Column("created_at", stamp, nullable=False),
    )
    op.create_table(
        "answer_feedback",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("submission_id", sa.Integer(), sa.ForeignKey("submission.id"), nullable=False, unique=True),
        sa.Column("verdict", sa.String(10), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("bureau_code", sa.String(10), sa.ForeignKey("bureau.code"), nullable=True),
        sa.Column("initiative_id", sa.Integer(), sa.ForeignKey("initiative.id"), nullable=True),
        sa.Column("created_at", stamp, nullable=False),
        sa.CheckConstraint(_0018._condition("verdict", VERDICTS), name=op.f("ck_answer_feedback_verdict")),
    )
    op.create_index("ix_answer_feedback_bureau_created", "answer_feedback", ["bureau_code", "created_at"])
    op.create_index("ix_answer_feedback_initiative", "answer_feedback", ["initiative_id"])
    op.create_table(
        "initiative_follow",
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("user_account.id"), primary_key=True, autoincrement=False),
        sa.Column("initiative_id", sa.Integer(), sa.ForeignKey("initiative.id"), primary_key=True, autoincrement=False),
        sa.Column("created_at", stamp, nullable=False),
    )
    op.create_index("ix_initiative_follow_initiative_id", "initiative_follow", ["initiative_id"])


def downgrade():
    bind = op.get_bind()
    for table in ("initiative_follow", "answer_feedback", "mail_suppression", "outbox_message"):
        op.drop_table(table)
    # The audit log is append-only: with any of these actions recorded the old constraint cannot
    # be put back, and the downgrade stops here (history is never deleted).
    _replace_action_check(bind, forward=False)
    for column in USER_COLUMNS:
        if bind.dialect.name == "sqlite":
            op.execute(SQLITE_DROP[column])
        else:
            op.drop_column("user_account", column)
    if bind.dialect.name == "sqlite":
        op.execute(SQLITE_DROP["mail_confirmed_at"])
    else:
        op.drop_column("submission", "mail_confirmed_at")
