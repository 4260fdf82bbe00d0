"""A bureau's inbox. Every query starts from visible_to(officer): no other road to the data."""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..kernel import workflow
from ..kernel.database import write_transaction
from ..kernel.models import Answer, AuditAction, Status, Submission, User
from ..kernel.workflow import Action
from ..web.pagination import KeysetPage, keyset_page


class NotVisible(LookupError):
    """The submission does not exist or belongs to another bureau; both look the same."""


def visible_to(officer: User) -> Select:
    return select(Submission).where(
        Submission.bureau_code == officer.bureau_code,
        Submission.bureau_code.is_not(None),
        Submission.status.in_(workflow.WITH_A_BUREAU),
    )


def inbox(officer: User, *, status: str | None, after: int | None, size: int) -> KeysetPage[Submission]:
    stmt = visible_to(officer).options(joinedload(Submission.initiative))
    stmt = stmt.where(Submission.status == (status or Status.ROUTED))
    return keyset_page(stmt, Submission.id, after=after, size=size)


def find_visible_by_reference(officer: User, reference: str) -> Submission | None:
    stmt = visible_to(officer).where(Submission.reference == reference.strip().upper())
    return db.session.execute(stmt).scalar_one_or_none()


def get_visible(officer: User, sub_id: int, *, for_update: bool = False) -> Submission:
    stmt = visible_to(officer).where(Submission.id == sub_id)
    if for_update:
        stmt = stmt.with_for_update()
    sub = db.session.execute(stmt).scalar_one_or_none()
    if sub is None:
        raise NotVisible(sub_id)
    return sub


def answer(officer: User, sub_id: int, body: str) -> None:
    with write_transaction():
        sub = get_visible(officer, sub_id, for_update=True)
        db.session.add(Answer(submission_id=sub.id, bureau_code=officer.bureau_code, author_id=officer.id, body=body))
        workflow.decide(sub, Action.ANSWER, actor=officer, audit=AuditAction.ANSWERED)


def send_back(officer: User, sub_id: int, reason: str) -> None:
    with write_transaction():
        sub = get_visible(officer, sub_id, for_update=True)
        workflow.decide(sub, Action.SEND_BACK, actor=officer, audit=AuditAction.SENT_BACK, reason=reason)


def close(officer: User, sub_id: int, note: str | None) -> None:
    with write_transaction():
        sub = get_visible(officer, sub_id, for_update=True)
        workflow.decide(sub, Action.CLOSE, actor=officer, audit=AuditAction.CLOSED, reason=note or None)
