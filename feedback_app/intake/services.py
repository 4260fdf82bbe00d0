"""Intake: store a resident's view first, then ask the classifier where it should go."""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from .. import routing, workflow
from ..database import write_transaction
from ..extensions import db
from ..models import AuditEvent, ReferenceCounter, Submission, User


@dataclass(frozen=True)
class NewSubmission:
    body: str
    language: str
    topic_area: str
    initiative_id: int | None = None
    name: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class Receipt:
    submission_id: int
    reference: str
    tracking_token: str  # shown once to the resident; only its hash is stored


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _next_reference(year: int) -> str:
    """Atomically take the next number for `year` (row lock on PostgreSQL, write lock on SQLite)."""
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    db.session.execute(
        insert(ReferenceCounter).values(year=year, last_value=0).on_conflict_do_nothing(index_elements=["year"])
    )
    number = db.session.execute(
        update(ReferenceCounter)
        .where(ReferenceCounter.year == year)
        .values(last_value=ReferenceCounter.last_value + 1)
        .returning(ReferenceCounter.last_value)
    ).scalar_one()
    return f"SCF-{year}-{number:06d}"


def submit(data: NewSubmission, *, user: User | None = None) -> Receipt:
    """Store the submission in its own transaction, then route it.

    Routing can fail in any way without losing the submission: it stays queued for review.
    """
    token = secrets.token_urlsafe(24)
    with write_transaction():
        now = datetime.now(timezone.utc)
        sub = Submission(
            reference=_next_reference(now.year),
            tracking_token_hash=hash_token(token),
            body=data.body,
            language=data.language,
            name=data.name or None,
            email=data.email or None,
            user_id=user.id if user is not None else None,
            initiative_id=data.initiative_id,
            topic_area_code=data.topic_area,
            created_at=now,
        )
        db.session.add(sub)
        db.session.flush()
        workflow.record_creation(sub, "submitted", actor=user)
        receipt = Receipt(sub.id, sub.reference, token)
    routing.route_submission(receipt.submission_id)
    return receipt


def find_tracked(reference: str, token: str) -> Submission | None:
    """The submission behind a tracking link, or None; the token is compared in constant time."""
    sub = db.session.execute(select(Submission).where(Submission.reference == reference)).scalar_one_or_none()
    if sub is None or not hmac.compare_digest(sub.tracking_token_hash, hash_token(token)):
        return None
    return sub


def history(sub: Submission) -> list[AuditEvent]:
    return list(
        db.session.execute(
            select(AuditEvent).where(AuditEvent.submission_id == sub.id).order_by(AuditEvent.id)
        ).scalars()
    )
