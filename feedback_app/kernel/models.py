"""Typed SQLAlchemy 2.0 models. The schema changes only through migrations/."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, NoReturn

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    event,
    false,
    text,
)
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.orm import Mapped, Mapper, mapped_column, relationship
from sqlalchemy.types import TypeDecorator
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import Base, db
from .triage import Priority, review_priority


def utcnow() -> datetime:
    return datetime.now(UTC)


if TYPE_CHECKING:  # db.Model is made at run time from Base, so a type checker cannot follow it
    Model = Base
else:
    Model = db.Model


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both databases (SQLite stores no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given; use utcnow()")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Role(enum.StrEnum):
    RESIDENT = "resident"
    MODERATOR = "moderator"
    OFFICER = "officer"
    ADMIN = "admin"


class Status(enum.StrEnum):
    RECEIVED = "received"
    NEEDS_REVIEW = "needs_review"
    ROUTED = "routed"
    IN_PROGRESS = "in_progress"  # an officer of the bureau has it (Submission.assigned_to_id)
    ANSWERED = "answered"
    REJECTED = "rejected"
    CLOSED = "closed"


class Visibility(enum.StrEnum):
    PENDING = "pending"
    PUBLISHED = "published"
    HIDDEN = "hidden"


class AuditAction(enum.StrEnum):
    """Every action the audit history records, by what it was about (i18n.ACTION_LABELS names each)."""

    # A view (feedback_app/kernel/workflow.py writes these)
    SUBMITTED = "submitted"
    AUTO_ROUTED = "auto_routed"
    QUEUED_FOR_REVIEW = "queued_for_review"
    CLASSIFICATION_FAILED = "classification_failed"
    ROUTE_CONFIRMED = "route_confirmed"
    ROUTE_CHANGED = "route_changed"
    REJECTED = "rejected"
    REOPENED = "reopened"
    VISIBILITY_PUBLISHED = "visibility_published"
    VISIBILITY_HIDDEN = "visibility_hidden"
    ANSWERED = "answered"
    SENT_BACK = "sent_back"
    CLOSED = "closed"
    PUBLIC_TEXT_EDITED = "public_text_edited"
    NOT_PERSONAL_MARKED = "not_personal_marked"  # a moderator said what the masking took is not personal data
    JOINED_CAMPAIGN = "joined_campaign"
    SPLIT_FROM_CAMPAIGN = "split_from_campaign"
    # A view in a bureau's hands (feedback_app/bureau writes these through the workflow)
    ASSIGNED = "assigned"
    NOTE_ADDED = "note_added"  # an internal note between officers: never public
    JOINT_INVITED = "joint_invited"
    BUREAU_REOPENED = "bureau_reopened"  # a closed view reopened by its bureau (within 30 days)
    # A bureau's settings and data
    ANSWER_TEMPLATE_SAVED = "answer_template_saved"
    ANSWER_TEMPLATE_DELETED = "answer_template_deleted"
    ANSWER_TARGET_CHANGED = "answer_target_changed"
    OFFICIAL_CONTACTS_CHANGED = "official_contacts_changed"
    BUREAU_EXPORTED = "bureau_exported"
    # A staff account
    ACCOUNT_CREATED = "account_created"
    PASSWORD_CHANGED = "password_changed"  # nosec B105 - an audit action's name, not a password
    ROLE_CHANGED = "role_changed"
    ACCOUNT_DEACTIVATED = "account_deactivated"
    ACCOUNT_REACTIVATED = "account_reactivated"
    TWO_FACTOR_ENABLED = "two_factor_enabled"
    TWO_FACTOR_DISABLED = "two_factor_disabled"
    TWO_FACTOR_RESET = "two_factor_reset"
    TWO_FACTOR_RECOVERY_CODE_USED = "two_factor_recovery_code_used"
    ENROLMENT_LINK_ISSUED = "enrolment_link_issued"
    ENROLMENT_LINK_USED = "enrolment_link_used"
    # A classifier version
    CLASSIFIER_TRAINED = "classifier_trained"
    CLASSIFIER_ACTIVATED = "classifier_activated"
    CLASSIFIER_ROLLED_BACK = "classifier_rolled_back"
    # A resident and the mail about their views (migration 0021)
    MAIL_CONFIRMED = "mail_confirmed"  # the sender confirmed they want updates by e-mail on a view
    ANSWER_FEEDBACK_GIVEN = "answer_feedback_given"  # "did this answer your point?"
    VIEW_ATTACHED = "view_attached"  # a view sent without an account, attached to one by its link
    ACCOUNT_SIGNED_UP = "account_signed_up"
    EMAIL_VERIFIED = "email_verified"
    ACCOUNT_DATA_EXPORTED = "account_data_exported"
    ACCOUNT_DELETED = "account_deleted"
    MAIL_RETRIED = "mail_retried"  # an administrator sent a failed message again


class TrainingStatus(enum.StrEnum):
    """Where a retraining run is (TrainingRun.status)."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


# A run in one of these has not ended: it holds the worker, and the admin page follows it.
TRAINING_UNDER_WAY = (TrainingStatus.QUEUED, TrainingStatus.RUNNING)


class RejectionReason(enum.StrEnum):
    SPAM = "spam"
    ABUSIVE = "abusive"
    OFF_TOPIC = "off_topic"
    DUPLICATE = "duplicate"


class OutboxStatus(enum.StrEnum):
    """Where a message of the mail outbox is (OutboxMessage.status; feedback_app/mail/)."""

    PENDING = "pending"  # waiting for its first try, or for its next one after a failure
    SENDING = "sending"  # claimed by a worker (a lease: tried again if it does not finish)
    SENT = "sent"
    FAILED = "failed"  # given up after the last try; an administrator may send it again


# A message in one of these may still be sent (the outbox's partial index, migration 0021).
OUTBOX_WAITING = (OutboxStatus.PENDING, OutboxStatus.SENDING)


class Verdict(enum.StrEnum):
    """A resident's "did this answer your point?" (AnswerFeedback.verdict)."""

    YES = "yes"
    PARTLY = "partly"
    NO = "no"


# Where an initiative of the Blueprint is (Initiative.status; reference_data/initiatives.json).
INITIATIVE_STATUSES = ("listed", "in_service", "ended")


def _one_of(column: str, values: Iterable[str | int]) -> CheckConstraint:
    """The database itself keeps a status column to its enum's values (migration 0018 and the
    ones after it that change a set; test_migrations holds the two equal). Named ck_<table>_<column>."""
    listed = ", ".join(str(int(v)) if isinstance(v, int) else f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({listed})", name=column)


class SmartArea(Model):
    __tablename__ = "smart_area"

    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    name_en: Mapped[str] = mapped_column(String(120))
    name_zh: Mapped[str] = mapped_column(String(120))
    description_en: Mapped[str] = mapped_column(Text)
    description_zh: Mapped[str] = mapped_column(Text)


class Bureau(Model):
    __tablename__ = "bureau"

    code: Mapped[str] = mapped_column(String(10), primary_key=True)
    name_en: Mapped[str] = mapped_column(String(160))
    name_zh: Mapped[str] = mapped_column(String(80))
    remit_en: Mapped[str] = mapped_column(Text)
    remit_zh: Mapped[str] = mapped_column(Text)
    # Working days from routing to the answer's due date (kernel/deadlines.py); an admin sets it.
    answer_target_days: Mapped[int] = mapped_column(Integer, default=10, server_default="10")


class Initiative(Model):
    __tablename__ = "initiative"
    __table_args__ = (_one_of("status", INITIATIVE_STATUSES),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(120), unique=True)
    area_code: Mapped[str] = mapped_column(ForeignKey("smart_area.code"), index=True)
    lead_bureau_code: Mapped[str] = mapped_column(ForeignKey("bureau.code"), index=True)
    title_en: Mapped[str] = mapped_column(String(300))
    title_zh: Mapped[str] = mapped_column(String(200))
    summary_en: Mapped[str] = mapped_column(Text)
    summary_zh: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))

    area: Mapped[SmartArea] = relationship(lazy="joined")
    lead_bureau: Mapped[Bureau] = relationship(lazy="joined")


class User(UserMixin, Model):  # type: ignore[misc]  # Flask-Login has no type information
    __tablename__ = "user_account"
    __table_args__ = (_one_of("role", Role),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20), default=Role.RESIDENT)
    bureau_code: Mapped[str | None] = mapped_column(ForeignKey("bureau.code"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Part of the login cookie; bumping it (logout, password or role change, deactivation)
    # makes every cookie issued before invalid, on every app node.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Two-factor sign-in (TOTP). The secret must be readable to check a code; recovery codes
    # are one-time and stored only as hashes. The last accepted time step stops a code seen
    # over someone's shoulder from being used a second time.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    recovery_code_hashes: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The secret an enrolment page showed, waiting for a code from the app to confirm it. Kept
    # here, never in the (readable) session cookie (migration 0015).
    totp_pending_secret: Mapped[str | None] = mapped_column(String(64))
    # A resident who signed up proves the address is theirs before it is used for anything
    # (migration 0021; accounts made before it, and staff accounts, count as verified).
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The language the account's mail is written in ("en", "zh_Hant", "zh_Hans").
    locale: Mapped[str | None] = mapped_column(String(10))
    # A resident who deleted their account: the row stays (the history points at it) with no
    # name, no e-mail address and no way to sign in.
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The weekly digest of followed initiatives has covered what was published before this.
    digest_sent_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    bureau: Mapped[Bureau | None] = relationship()

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def is_active(self) -> bool:
        return self.active

    def has_role(self, *roles: Role) -> bool:
        return self.role in roles


class ClassifierVersion(Model):
    """A trained model stored in the database, so every app node loads the same one."""

    __tablename__ = "classifier_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(String(60), unique=True)
    artifact: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    training_data_hash: Mapped[str] = mapped_column(String(64))
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    is_active: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TrainingRun(Model):
    """One retraining, asked for on the admin page or the CLI and carried out by the worker."""

    __tablename__ = "training_run"
    __table_args__ = (_one_of("status", TrainingStatus),)

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(20), default=TrainingStatus.QUEUED)
    progress: Mapped[int] = mapped_column(Integer, default=0)  # percent
    step: Mapped[str | None] = mapped_column(String(80))  # what it is doing, a TRAINING_STEPS key
    error: Mapped[str | None] = mapped_column(Text)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    version_id: Mapped[int | None] = mapped_column(ForeignKey("classifier_version.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    requested_by: Mapped[User | None] = relationship()
    version: Mapped[ClassifierVersion | None] = relationship()

    @property
    def under_way(self) -> bool:
        return self.status in TRAINING_UNDER_WAY


class ReferenceCounter(Model):
    """One row per year; incremented atomically to number submissions SCF-<year>-<n>."""

    __tablename__ = "reference_counter"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_value: Mapped[int] = mapped_column(Integer, default=0)


# workflow.AWAITING_REVIEW, written as the SQL of migration 0009's partial indexes: the workflow
# reads these models, so this module cannot ask it; tests/test_public_projection.py holds the two equal.
_IN_QUEUE = text("status IN ('needs_review', 'received')")
# workflow.AWAITING_ANSWER likewise, for the inbox's partial indexes (migration 0020).
_AWAITING_ANSWER = text("status IN ('routed', 'in_progress')")


class Submission(Model):
    __tablename__ = "submission"
    __table_args__ = (
        # Lists page by id (ids grow with arrival), filtered by these columns.
        Index("ix_submission_status_id", "status", "id"),
        Index("ix_submission_bureau_status_id", "bureau_code", "status", "id"),
        Index("ix_submission_area_status_id", "area_code", "status", "id"),
        Index("ix_submission_initiative_visibility_id", "initiative_id", "visibility", "id"),
        # The review queue filters on the classifier's guess and on publication state.
        Index("ix_submission_status_predicted_area_id", "status", "predicted_area_code", "id"),
        Index("ix_submission_status_predicted_bureau_id", "status", "predicted_bureau_code", "id"),
        Index("ix_submission_visibility_status_id", "visibility", "status", "id"),
        # The review queue at volume (migration 0009): partial indexes over what awaits review.
        # Two more are not declared here, being expressions or dialect-specific: the confidence
        # order and the text search (and SQLite's FTS5 table).
        Index("ix_submission_campaign_id", "campaign_id", "id"),
        # Repeated posting (abuse.py): how many views one client sent since a moment.
        Index("ix_submission_client_hash", "client_hash", "created_at"),
        # A bureau's inbox (migration 0019): by tab, then due date (its default order) or arrival.
        Index("ix_submission_bureau_status_due", "bureau_code", "status", "due_at", "id"),
        Index("ix_submission_bureau_due", "bureau_code", "due_at", "id"),
        Index("ix_submission_bureau_id", "bureau_code", "id", "status"),  # status: pages by id stay index-only
        Index("ix_submission_assignee_status_due", "assigned_to_id", "status", "due_at", "id"),
        Index("ix_submission_sent_back_by", "sent_back_by_code", "id"),
        # The bureau's dashboard: answers per week, time to answer (bureau/dashboard.py).
        Index("ix_submission_bureau_answered", "bureau_code", "answered_at"),
        # The inbox at volume (migration 0020): a campaign's first copy in a tab; views awaiting an
        # answer by due date, the bureau's (overdue) and an officer's ("assigned to me"); what the
        # bureau sent back, still awaiting review; an officer's and an initiative's views by due date.
        Index("ix_submission_campaign_tab", "campaign_id", "bureau_code", "status", "id"),
        Index(
            "ix_submission_awaiting_due",
            "bureau_code",
            "due_at",
            "id",
            sqlite_where=_AWAITING_ANSWER,
            postgresql_where=_AWAITING_ANSWER,
        ),
        Index(
            "ix_submission_awaiting_assignee_due",
            "assigned_to_id",
            "bureau_code",
            "due_at",
            "id",
            sqlite_where=_AWAITING_ANSWER,
            postgresql_where=_AWAITING_ANSWER,
        ),
        Index(
            "ix_submission_sent_back_waiting",
            "sent_back_by_code",
            "id",
            sqlite_where=_IN_QUEUE,
            postgresql_where=_IN_QUEUE,
        ),
        Index("ix_submission_assignee_bureau_due", "assigned_to_id", "bureau_code", "due_at", "id"),
        Index("ix_submission_bureau_initiative_due", "bureau_code", "initiative_id", "due_at", "id"),
        # A month of views for the statistics' rollups; a smart area's published general views.
        Index("ix_submission_created_at", "created_at", "id"),
        Index("ix_submission_topic_area_visibility_id", "topic_area_code", "visibility", "id"),
        _one_of("status", Status),
        _one_of("visibility", Visibility),
        _one_of("rejection_reason", RejectionReason),  # NULL passes a CHECK: no reason
        _one_of("review_priority", Priority),
        *(
            Index(name, *columns, sqlite_where=_IN_QUEUE, postgresql_where=_IN_QUEUE)
            for name, columns in (
                ("ix_submission_queue_priority", ("review_priority", "id")),
                ("ix_submission_queue_age", ("id",)),
                ("ix_submission_queue_predicted_bureau", ("predicted_bureau_code", "review_priority", "id")),
                ("ix_submission_queue_predicted_area", ("predicted_area_code", "review_priority", "id")),
                ("ix_submission_queue_initiative", ("initiative_id", "review_priority", "id")),
                ("ix_submission_queue_bureau", ("bureau_code", "review_priority", "id")),  # migration 0012
                ("ix_submission_queue_campaign", ("campaign_id", "id")),
                (
                    "ix_submission_queue_facets",
                    (
                        "predicted_bureau_code",
                        "predicted_area_code",
                        "language",
                        "review_priority",
                        "predicted_bureau_p",
                    ),
                ),
            )
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    tracking_token_hash: Mapped[str] = mapped_column(String(64))
    # The one-time token of the form that sent it: a replayed POST finds this view again
    # instead of storing a copy.
    form_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    body: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(10))
    name: Mapped[str | None] = mapped_column(String(120))
    email: Mapped[str | None] = mapped_column(String(254))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    initiative_id: Mapped[int | None] = mapped_column(ForeignKey("initiative.id"))
    # The smart area the resident wrote about (the initiative's, or the one they chose).
    topic_area_code: Mapped[str] = mapped_column(ForeignKey("smart_area.code"))

    status: Mapped[str] = mapped_column(String(20), default=Status.RECEIVED)
    visibility: Mapped[str] = mapped_column(String(20), default=Visibility.PENDING)
    rejection_reason: Mapped[str | None] = mapped_column(String(20))
    # Why the view looks like abuse or spam (abuse.py), comma-separated codes; "" when none.
    flags: Mapped[str] = mapped_column(String(200), default="", server_default="")
    # Its place in the review queue (triage.Priority), kept up to date by the listener below.
    review_priority: Mapped[int] = mapped_column(SmallInteger, default=2, server_default="2")
    # The text as published when a moderator edited its redaction; None: the automatic redaction.
    public_text: Mapped[str | None] = mapped_column(Text)
    # Texts the masking found that a moderator marked "not personal data": shown as typed.
    not_personal: Mapped[list[str] | None] = mapped_column(JSON)

    # What the classifier said, kept even after a moderator changes the route.
    predicted_area_code: Mapped[str | None] = mapped_column(String(20))
    predicted_area_p: Mapped[float | None] = mapped_column(Float)
    predicted_bureau_code: Mapped[str | None] = mapped_column(String(10))
    predicted_bureau_p: Mapped[float | None] = mapped_column(Float)
    # Whether the semantic model had a part in that prediction (None: predicted before this was kept).
    predicted_semantic: Mapped[bool | None] = mapped_column(Boolean)
    classifier_version_id: Mapped[int | None] = mapped_column(ForeignKey("classifier_version.id"))
    classification_error: Mapped[str | None] = mapped_column(Text)

    # The current route.
    area_code: Mapped[str | None] = mapped_column(ForeignKey("smart_area.code"))
    bureau_code: Mapped[str | None] = mapped_column(ForeignKey("bureau.code"))

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Optimistic locking: two moderators deciding at once cannot silently overwrite each other.
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Near copies of one text (campaigns.py): the campaign, and the MinHash kept to confirm copies.
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaign.id"))
    near_signature: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    # A keyed, truncated hash of the sending client's address (abuse.py); never the address.
    client_hash: Mapped[str | None] = mapped_column(String(32))
    # The moderator who has the view open (moderation.services.hold); not a change to the view.
    held_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    held_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # In a bureau's hands (workflow.py keeps these; migration 0019): when it reached the bureau,
    # when its answer is due (routed_at + the bureau's target in Hong Kong working days), the
    # officer who has it, when it was first answered and when closed.
    routed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    assigned_to_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The bureau that last sent it back as "not ours", and the bureau it suggested (or None).
    sent_back_by_code: Mapped[str | None] = mapped_column(String(10))
    suggested_bureau_code: Mapped[str | None] = mapped_column(String(10))
    # What the bureau told the public when it closed the view (masked when shown).
    closing_note: Mapped[str | None] = mapped_column(Text)
    # When the sender confirmed, from the receipt's link, that they want updates by e-mail: until
    # then the address gets the receipt only (feedback_app/mail/; migration 0021).
    mail_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Whether the masking found personal data in the view as sent: set by the worker when it
    # routes the view (None until it has looked). The public moderation report counts it.
    personal_data_found: Mapped[bool | None] = mapped_column(Boolean)

    __mapper_args__ = {"version_id_col": version}

    initiative: Mapped[Initiative | None] = relationship()
    topic_area: Mapped[SmartArea] = relationship(foreign_keys=[topic_area_code])
    area: Mapped[SmartArea | None] = relationship(foreign_keys=[area_code])
    bureau: Mapped[Bureau | None] = relationship(foreign_keys=[bureau_code])
    classifier_version: Mapped[ClassifierVersion | None] = relationship()
    held_by: Mapped[User | None] = relationship(foreign_keys=[held_by_id])
    assigned_to: Mapped[User | None] = relationship(foreign_keys=[assigned_to_id])
    answers: Mapped[list[Answer]] = relationship(back_populates="submission", order_by="Answer.created_at")
    partners: Mapped[list[JointBureau]] = relationship(back_populates="submission", order_by="JointBureau.invited_at")


class Campaign(Model):
    """One text sent many times, lightly edited: its views share campaign_id."""

    __tablename__ = "campaign"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


_KEY_PUBLISHED = text("published")


class NearDuplicateKey(Model):
    """One MinHash band key of a view: views sharing a key are candidates to be near copies."""

    __tablename__ = "near_duplicate_key"
    # The form's suggestions read published views' keys only (migration 0016), so what a draft
    # costs never depends on what is hidden.
    __table_args__ = (
        Index(
            "ix_near_duplicate_key_published",
            "key",
            "submission_id",
            sqlite_where=_KEY_PUBLISHED,
            postgresql_where=_KEY_PUBLISHED,
        ),
    )

    key: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id"), primary_key=True, autoincrement=False)
    # Whether the view is public now: kept by workflow as its publication changes.
    published: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Support(Model):
    """A resident's support for a published view, counted once per person or device (support.py)."""

    __tablename__ = "support"
    __table_args__ = (UniqueConstraint("submission_id", "supporter_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id"))
    # A keyed hash of the account or of the device cookie: who supported, never how to find them.
    supporter_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Answer(Model):
    """A bureau's public answer to a submission (Markdown, text/markup.py renders it): `body` in
    `language` ("en" or "zh"), and optionally the same answer in the other one (`translation`)."""

    __tablename__ = "answer"
    # A bureau's newest answers (its Atom feed, public/feeds.py).
    __table_args__ = (Index("ix_answer_bureau_created", "bureau_code", "created_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id"), index=True)
    bureau_code: Mapped[str] = mapped_column(ForeignKey("bureau.code"))
    author_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    body: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(2), default="en", server_default="en")
    translation: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    submission: Mapped[Submission] = relationship(back_populates="answers")
    bureau: Mapped[Bureau] = relationship()
    author: Mapped[User] = relationship()

    def texts(self, reader_language: str) -> list[tuple[str, str]]:
        """(language, text) pairs, the reader's language ("en" or "zh...") first."""
        pairs = [(self.language, self.body)]
        if self.translation:
            pairs.append(("zh" if self.language == "en" else "en", self.translation))
        return sorted(pairs, key=lambda pair: not reader_language.startswith(pair[0]))


class JointBureau(Model):
    """A second bureau invited to answer a view with its owner: it sees the view and adds its part."""

    __tablename__ = "joint_bureau"

    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id"), primary_key=True, autoincrement=False)
    bureau_code: Mapped[str] = mapped_column(ForeignKey("bureau.code"), primary_key=True, index=True)
    invited_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    invited_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    submission: Mapped[Submission] = relationship(back_populates="partners")
    bureau: Mapped[Bureau] = relationship()


class BureauNote(Model):
    """An internal note between officers on a view: never public, never in a public export."""

    __tablename__ = "bureau_note"
    __table_args__ = (Index("ix_bureau_note_submission_id", "submission_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id"))
    bureau_code: Mapped[str] = mapped_column(ForeignKey("bureau.code"))
    author_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author: Mapped[User] = relationship()


class AnswerTemplate(Model):
    """A bureau's reusable answer, in English and/or Chinese, with placeholders (bureau/templates.py)."""

    __tablename__ = "answer_template"
    __table_args__ = (UniqueConstraint("bureau_code", "title"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bureau_code: Mapped[str] = mapped_column(ForeignKey("bureau.code"))
    title: Mapped[str] = mapped_column(String(120))
    body_en: Mapped[str | None] = mapped_column(Text)
    body_zh: Mapped[str | None] = mapped_column(Text)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class OfficialContact(Model):
    """A bureau's published hotline or government e-mail address, kept by an admin: shown as
    written in answers, where a resident's own number or address is masked."""

    __tablename__ = "official_contact"
    __table_args__ = (UniqueConstraint("bureau_code", "value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bureau_code: Mapped[str] = mapped_column(ForeignKey("bureau.code"))
    value: Mapped[str] = mapped_column(String(254))
    label_en: Mapped[str | None] = mapped_column(String(120))
    label_zh: Mapped[str | None] = mapped_column(String(120))


class OutboxMessage(Model):
    """An e-mail to send, written in the transaction of the change it tells about (mail/outbox.py)
    and sent by a worker (mail/delivery.py). Its text is made when it is sent, from `kind`,
    `locale`, the view or account it is about and `context`."""

    __tablename__ = "outbox_message"
    __table_args__ = (
        _one_of("status", OutboxStatus),
        # The sweep: messages waiting whose (next) try is due.
        Index(
            "ix_outbox_message_due",
            "next_attempt_at",
            sqlite_where=text("status IN ('pending', 'sending')"),
            postgresql_where=text("status IN ('pending', 'sending')"),
        ),
        # Per-address limits, and erasing an address.
        Index("ix_outbox_message_recipient", "recipient_hash", "created_at"),
        # The administrators' outbox page, by status, newest first.
        Index("ix_outbox_message_status_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The Message-ID header, made once: a message sent twice (see the README's promise) is
    # recognisably one message.
    message_id: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(30))
    locale: Mapped[str] = mapped_column(String(10))
    # None once erased (an account deleted): the message is kept as a count, to no one.
    recipient: Mapped[str | None] = mapped_column(String(254))
    # A keyed hash of the normalised address: limits count by it, erasure finds by it.
    recipient_hash: Mapped[str] = mapped_column(String(64))
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submission.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    audit_event_id: Mapped[int | None] = mapped_column(ForeignKey("audit_event.id"), index=True)
    context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(10), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    submission: Mapped[Submission | None] = relationship()
    audit_event: Mapped[AuditEvent | None] = relationship()


class MailSuppression(Model):
    """An address that unsubscribed: no mail goes to it. Kept as a keyed hash, never the address."""

    __tablename__ = "mail_suppression"

    address_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AnswerFeedback(Model):
    """The sender's "did this answer your point?", asked once per view (its comment goes to the bureau)."""

    __tablename__ = "answer_feedback"
    __table_args__ = (
        _one_of("verdict", Verdict),
        Index("ix_answer_feedback_bureau_created", "bureau_code", "created_at"),
        Index("ix_answer_feedback_initiative", "initiative_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id"), unique=True)
    verdict: Mapped[str] = mapped_column(String(10))
    comment: Mapped[str | None] = mapped_column(Text)
    # The bureau that answered and the initiative, as they were: the results count per each.
    bureau_code: Mapped[str | None] = mapped_column(ForeignKey("bureau.code"))
    initiative_id: Mapped[int | None] = mapped_column(ForeignKey("initiative.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class InitiativeFollow(Model):
    """A resident follows an initiative: its newly published views and answers in a weekly digest."""

    __tablename__ = "initiative_follow"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), primary_key=True, autoincrement=False)
    initiative_id: Mapped[int] = mapped_column(
        ForeignKey("initiative.id"), primary_key=True, autoincrement=False, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StatsMeasure(enum.StrEnum):
    """What a row of StatsDistribution counts the values of."""

    ANSWER_DAYS = "answer_days"  # whole days from routing to a bureau's first answer, per bureau
    CAMPAIGN_SIZE = "campaign_size"  # copies in a campaign, at the month of its first copy


class StatsMonth(Model):
    """The statistics' rollup: the views received in a month (Hong Kong time), per smart area
    written about and bureau routed to ('' while none), as they stand now. Kept by the worker,
    which recounts a month when one of its views changes, and rebuilt from scratch by
    `flask stats rebuild` (feedback_app/stats/; migration 0022)."""

    __tablename__ = "stats_month"

    month: Mapped[date] = mapped_column(Date, primary_key=True)  # its first day
    area_code: Mapped[str] = mapped_column(String(20), primary_key=True)
    bureau_code: Mapped[str] = mapped_column(String(10), primary_key=True)
    received: Mapped[int] = mapped_column(Integer, default=0)
    published: Mapped[int] = mapped_column(Integer, default=0)
    hidden: Mapped[int] = mapped_column(Integer, default=0)
    rejected_spam: Mapped[int] = mapped_column(Integer, default=0)
    rejected_abusive: Mapped[int] = mapped_column(Integer, default=0)
    rejected_off_topic: Mapped[int] = mapped_column(Integer, default=0)
    rejected_duplicate: Mapped[int] = mapped_column(Integer, default=0)
    personal_data: Mapped[int] = mapped_column(Integer, default=0)  # the masking found some
    routed_auto: Mapped[int] = mapped_column(Integer, default=0)  # routed by the worker
    routed_moderator: Mapped[int] = mapped_column(Integer, default=0)
    overridden: Mapped[int] = mapped_column(Integer, default=0)  # a moderator routed it elsewhere than predicted
    answered: Mapped[int] = mapped_column(Integer, default=0)
    answered_on_time: Mapped[int] = mapped_column(Integer, default=0)  # first answer by its due date
    helped_yes: Mapped[int] = mapped_column(Integer, default=0)  # "did this answer your point?"
    helped_partly: Mapped[int] = mapped_column(Integer, default=0)
    helped_no: Mapped[int] = mapped_column(Integer, default=0)
    in_campaign: Mapped[int] = mapped_column(Integer, default=0)  # copies of a campaign


# The counts of a StatsMonth row, in the table's order (open data's statistics.csv writes them).
STATS_COUNTS: tuple[str, ...] = tuple(
    column.key for column in StatsMonth.__table__.columns if column.key not in ("month", "area_code", "bureau_code")
)


class StatsDistribution(Model):
    """How often each value of a measure occurred among a month's views, per bureau ('' for
    none): medians and campaign sizes over any period are read from these (migration 0022)."""

    __tablename__ = "stats_distribution"
    __table_args__ = (_one_of("measure", StatsMeasure),)

    month: Mapped[date] = mapped_column(Date, primary_key=True)
    measure: Mapped[str] = mapped_column(String(20), primary_key=True)
    bureau_code: Mapped[str] = mapped_column(String(10), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    count: Mapped[int] = mapped_column(Integer, default=0)


class StatsDirtyMonth(Model):
    """A month whose rollups are to be recounted: marked by the worker when a view of it changes."""

    __tablename__ = "stats_dirty_month"

    month: Mapped[date] = mapped_column(Date, primary_key=True)
    marked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PublicState(Model):
    """One row: how far what the public sees has changed. `version` moves with every change of a
    published view, an answer or support (kernel/public.py, in the change's own transaction), so
    caches and ETags keyed on it are never stale; `stats_refreshed_at` is when the rollups last
    took a change in."""

    __tablename__ = "public_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger, default=0)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    stats_refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditEvent(Model):
    """Append-only history: who did what to a submission, before -> after, when."""

    __tablename__ = "audit_event"
    __table_args__ = (_one_of("action", AuditAction),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submission.id"), index=True)
    # The account an account change (role, password, deactivation, two-factor) was made to.
    target_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    # The classifier version an activation, rollback or retraining was about.
    classifier_version_id: Mapped[int | None] = mapped_column(ForeignKey("classifier_version.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    action: Mapped[str] = mapped_column(String(40))
    before: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    after: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])
    target_user: Mapped[User | None] = relationship(foreign_keys=[target_user_id])


class EnrolmentLinkStatus(enum.StrEnum):
    OPEN = "open"
    USED = "used"
    REPLACED = "replaced"  # a newer link was issued for the account


class EnrolmentLink(Model):
    """A one-time link an administrator hands to a member of staff to set up two-step sign-in
    (auth/enrolment.py). Only a keyed hash of its token is kept; at most one is open per account."""

    __tablename__ = "enrolment_link"
    __table_args__ = (
        _one_of("status", EnrolmentLinkStatus),
        Index(
            "uq_enrolment_link_open_user_id",
            "user_id",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(10), default=EnrolmentLinkStatus.OPEN)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # when it was used or replaced

    user: Mapped[User] = relationship(foreign_keys=[user_id])


class AuditRecordImmutable(Exception):
    pass


@event.listens_for(AuditEvent, "before_update")
@event.listens_for(AuditEvent, "before_delete")
def _refuse_audit_change(mapper: Mapper[AuditEvent], connection: Connection, target: AuditEvent) -> NoReturn:
    raise AuditRecordImmutable("audit events are append-only")


@event.listens_for(Submission, "before_insert")
@event.listens_for(Submission, "before_update")
def _place_in_queue(mapper: Mapper[Submission], connection: Connection, target: Submission) -> None:
    target.review_priority = review_priority(target.flags, target.predicted_bureau_p)
