"""A bureau's work on its views. Every read starts from `visible_to`: no other road to the data.

An officer sees a view in one of three relations: its bureau OWNS it (routed to it), is a
PARTNER on it (invited by the owner to answer jointly), or SENT it back and it still waits for a
moderator (read only). A view in none of these does not exist for the officer: 404, whether it
belongs to another bureau or to nobody.

Each decision goes through the workflow table (kernel/workflow.py), which refuses what the
view's state does not allow, under the row's lock, and audits it in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from flask import current_app
from sqlalchemy import ColumnElement, and_, exists, or_, select

from ..extensions import db
from ..kernel import audit, workflow
from ..kernel.database import write_transaction
from ..kernel.models import (
    Answer,
    AnswerFeedback,
    AuditAction,
    AuditEvent,
    Bureau,
    BureauNote,
    JointBureau,
    Role,
    Status,
    Submission,
    User,
    Visibility,
)
from ..kernel.workflow import Action, TransitionNotAllowed
from ..text.redaction import find_personal_data

# The most views one "answer them all" decides on; the page says how many remain.
MANY_LIMIT = 500


class NotVisible(LookupError):
    """The submission does not exist or is not the officer's bureau's; both look the same."""


class Relation(StrEnum):
    OWNER = "owner"
    PARTNER = "partner"
    SENDER = "sender"  # sent it back; it waits for a moderator


def _partner_of(bureau: str) -> ColumnElement[bool]:
    return exists().where(JointBureau.submission_id == Submission.id, JointBureau.bureau_code == bureau)


def visible_to(officer: User) -> ColumnElement[bool]:
    """What an officer may see: the one condition every read of this workspace starts from."""
    bureau = officer.bureau_code
    if bureau is None:
        return Submission.id.is_(None)  # an officer without a bureau sees nothing
    return or_(
        and_(Submission.bureau_code == bureau, Submission.status.in_(workflow.WITH_A_BUREAU)),
        and_(Submission.status.in_(workflow.WITH_A_BUREAU), _partner_of(bureau)),
        and_(Submission.sent_back_by_code == bureau, workflow.awaiting_review()),
    )


def relation(officer: User, sub: Submission) -> Relation:
    if sub.bureau_code == officer.bureau_code and sub.status in workflow.WITH_A_BUREAU:
        return Relation.OWNER
    if sub.status in workflow.WITH_A_BUREAU and any(p.bureau_code == officer.bureau_code for p in sub.partners):
        return Relation.PARTNER
    return Relation.SENDER


def get_visible(officer: User, sub_id: int, *, for_update: bool = False) -> Submission:
    stmt = select(Submission).where(Submission.id == sub_id, visible_to(officer))
    if for_update:
        stmt = stmt.with_for_update()
    sub = db.session.execute(stmt).scalar_one_or_none()
    if sub is None:
        raise NotVisible(sub_id)
    return sub


def find_visible_by_reference(officer: User, reference: str) -> Submission | None:
    stmt = select(Submission).where(Submission.reference == reference.strip().upper(), visible_to(officer))
    return db.session.execute(stmt).scalar_one_or_none()


def allowed(officer: User, sub: Submission) -> frozenset[Action]:
    """What this officer may do on the view now (the workflow's table, for the relation)."""
    rel = relation(officer, sub)
    if rel == Relation.SENDER:
        return frozenset()
    return workflow.allowed_actions(sub, officer.role, partner=rel == Relation.PARTNER)


def answer_feedback(officer: User, sub_id: int) -> AnswerFeedback | None:
    """What the sender said of the answer ("did this answer your point?"), for the bureau that
    owns the view: a partner bureau, or one that sent it back, does not read it."""
    return db.session.execute(
        select(AnswerFeedback)
        .join(Submission, Submission.id == AnswerFeedback.submission_id)
        .where(
            AnswerFeedback.submission_id == sub_id,
            AnswerFeedback.bureau_code == officer.bureau_code,
            Submission.bureau_code == officer.bureau_code,
            visible_to(officer),
        )
    ).scalar_one_or_none()


def _decide(officer: User, sub_id: int, action: Action, **kwargs) -> Submission:
    """Lock the view, check the officer's relation to it, and take the decision."""
    sub = get_visible(officer, sub_id, for_update=True)
    if action not in allowed(officer, sub):
        raise TransitionNotAllowed(sub.status, action)
    rel = relation(officer, sub)
    workflow.decide(sub, action, actor=officer, partner=rel == Relation.PARTNER, **kwargs)
    return sub


# Assignment ----------------------------------------------------------------------------------


class NotAnOfficerHere(ValueError):
    """The chosen assignee is not an active officer of the view's bureau."""


def colleague(officer: User, user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None or user.role != Role.OFFICER or not user.active or user.bureau_code != officer.bureau_code:
        raise NotAnOfficerHere(user_id)
    return user


def assign(officer: User, sub_id: int, assignee_id: int) -> User:
    with write_transaction():
        assignee = colleague(officer, assignee_id)
        _decide(officer, sub_id, Action.ASSIGN, audit=AuditAction.ASSIGNED, assignee=assignee)
    return assignee


# Notes ---------------------------------------------------------------------------------------


def add_note(officer: User, sub_id: int, body: str) -> None:
    """An internal note: audited (that a note was added, by whom), never public."""
    with write_transaction():
        sub = get_visible(officer, sub_id, for_update=True)
        if Action.NOTE not in allowed(officer, sub):
            raise TransitionNotAllowed(sub.status, Action.NOTE)
        note = BureauNote(submission_id=sub.id, bureau_code=officer.bureau_code, author_id=officer.id, body=body)
        db.session.add(note)
        db.session.flush()
        audit.record(AuditAction.NOTE_ADDED, actor=officer, submission_id=sub.id, after={"note": note.id})


def notes(officer: User, sub: Submission) -> list[BureauNote]:
    """The notes on a view that the officer's bureau may read: its own and, on a joint view, the
    other bureau's (they work on it together)."""
    bureaus = {sub.bureau_code, *(p.bureau_code for p in sub.partners)} - {None}
    if officer.bureau_code not in bureaus:
        return []
    stmt = select(BureauNote).where(BureauNote.submission_id == sub.id).order_by(BureauNote.id)
    return list(db.session.execute(stmt).scalars())


# Answers -------------------------------------------------------------------------------------


class Publication(StrEnum):
    """What happened to the view's publication when it was answered: each says something true."""

    PUBLISHED_NOW = "published_now"  # published with its answer, by the publication policy
    ALREADY_PUBLIC = "already_public"
    AWAITS_MODERATOR = "awaits_moderator"  # the answer shows once a moderator publishes the view
    HIDDEN = "hidden"  # the view is not public: the answer reaches its sender only


def _routed_without_a_moderator(sub: Submission) -> bool:
    moderator_route = select(AuditEvent.id).where(
        AuditEvent.submission_id == sub.id,
        AuditEvent.action.in_([AuditAction.ROUTE_CONFIRMED, AuditAction.ROUTE_CHANGED]),
    )
    auto = select(AuditEvent.id).where(AuditEvent.submission_id == sub.id, AuditEvent.action == AuditAction.AUTO_ROUTED)
    return bool(db.session.execute(select(exists(auto), ~exists(moderator_route))).one() == (True, True))


def may_publish_with_answer(sub: Submission) -> bool:
    """The publication policy (README, "What is published when"): a view the classifier routed by
    itself, with no flag and no personal data found in it, is published with its answer — unless
    ANSWERS_WAIT_FOR_MODERATOR is set. Anything else waits for a moderator's publish step."""
    return (
        not current_app.config["ANSWERS_WAIT_FOR_MODERATOR"]
        and sub.visibility == Visibility.PENDING
        and not sub.flags
        and not find_personal_data(sub.public_text or sub.body, not_personal=sub.not_personal or ())
        and _routed_without_a_moderator(sub)
    )


def _publication_after_answer(officer: User, sub: Submission) -> Publication:
    if sub.visibility == Visibility.PUBLISHED:
        return Publication.ALREADY_PUBLIC
    if sub.visibility == Visibility.HIDDEN:
        return Publication.HIDDEN
    if may_publish_with_answer(sub):
        workflow.publish_with_answer(sub, actor=officer)
        return Publication.PUBLISHED_NOW
    return Publication.AWAITS_MODERATOR


@dataclass(frozen=True)
class AnswerText:
    """An answer as the officer wrote it: English, Chinese, or both (at least one)."""

    english: str | None
    chinese: str | None

    def as_row(self) -> dict[str, str | None]:
        if self.english:
            return {"language": "en", "body": self.english, "translation": self.chinese or None}
        return {"language": "zh", "body": self.chinese or "", "translation": None}


def _add_answer(officer: User, sub: Submission, text: AnswerText) -> None:
    db.session.add(Answer(submission_id=sub.id, bureau_code=officer.bureau_code, author_id=officer.id, **text.as_row()))


def answer(officer: User, sub_id: int, text: AnswerText) -> Publication:
    """The owner's answer (or a partner's part of a joint view's answer)."""
    with write_transaction():
        sub = get_visible(officer, sub_id, for_update=True)
        if relation(officer, sub) == Relation.PARTNER:
            _decide(officer, sub_id, Action.ANSWER_PART, audit=AuditAction.ANSWERED)
        else:
            _decide(officer, sub_id, Action.ANSWER, audit=AuditAction.ANSWERED)
        _add_answer(officer, sub, text)
        return _publication_after_answer(officer, sub)


@dataclass
class ManyOutcome:
    answered: list[str] = field(default_factory=list)  # references
    published: int = 0  # of those, made public with the answer now
    refused: list[str] = field(default_factory=list)  # changed meanwhile: no longer answerable
    remaining: int = 0  # beyond MANY_LIMIT


def answer_many(officer: User, targets: list[tuple[int, int | None]], text: AnswerText) -> ManyOutcome:
    """One answer for many views (a campaign's copies, or the ones ticked): each view answered on
    its own, audited on its own; one refused view does not undo the others. `targets`: (id,
    version seen), version None for "as it is now"."""
    outcome = ManyOutcome(remaining=max(0, len(targets) - MANY_LIMIT))
    for sub_id, version in targets[:MANY_LIMIT]:
        try:
            with write_transaction():
                sub = get_visible(officer, sub_id, for_update=True)
                if version is not None and sub.version != version:
                    raise TransitionNotAllowed(sub.status, Action.ANSWER)
                _decide(officer, sub_id, Action.ANSWER, audit=AuditAction.ANSWERED)
                _add_answer(officer, sub, text)
                publication = _publication_after_answer(officer, sub)
                reference = sub.reference
        except (NotVisible, TransitionNotAllowed):
            # Named only if the officer may see it: an id of another bureau's view stays unnamed.
            ref = db.session.execute(
                select(Submission.reference).where(Submission.id == sub_id, visible_to(officer))
            ).scalar()
            if ref is not None:
                outcome.refused.append(ref)
            continue
        outcome.answered.append(reference)
        outcome.published += publication == Publication.PUBLISHED_NOW
    return outcome


def campaign_targets(officer: User, campaign_id: int) -> list[tuple[int, int | None]]:
    """Every copy of a campaign that the bureau owns and may still answer."""
    stmt = (
        select(Submission.id)
        .where(
            Submission.campaign_id == campaign_id,
            Submission.bureau_code == officer.bureau_code,
            Submission.status.in_((*workflow.AWAITING_ANSWER, Status.ANSWERED)),
        )
        .order_by(Submission.id)
        .limit(MANY_LIMIT + 1)
    )
    return [(sub_id, None) for sub_id in db.session.execute(stmt).scalars()]


def listed(officer: User, ids: list[int]) -> list[Submission]:
    """The views among `ids` that the officer's bureau owns, in id order (the rest do not exist here)."""
    stmt = (
        select(Submission)
        .where(Submission.id.in_(ids), Submission.bureau_code == officer.bureau_code, visible_to(officer))
        .order_by(Submission.id)
    )
    return list(db.session.execute(stmt).scalars())


# Send back, invite, close, reopen ---------------------------------------------------------------


class UnknownBureau(ValueError):
    pass


def _bureau(code: str | None) -> str | None:
    if not code:
        return None
    if db.session.get(Bureau, code) is None:
        raise UnknownBureau(code)
    return code


def send_back(officer: User, sub_id: int, reason: str, suggested_bureau: str | None = None) -> None:
    with write_transaction():
        suggestion = _bureau(suggested_bureau)
        if suggestion == officer.bureau_code:
            raise UnknownBureau(suggestion)
        _decide(
            officer,
            sub_id,
            Action.SEND_BACK,
            audit=AuditAction.SENT_BACK,
            reason=reason,
            suggested_bureau=suggestion,
        )


class AlreadyInvited(ValueError):
    pass


def invite(officer: User, sub_id: int, bureau_code: str) -> Bureau:
    """Make the view joint: the invited bureau sees it and adds its part of the answer."""
    with write_transaction():
        code = _bureau(bureau_code)
        sub = get_visible(officer, sub_id, for_update=True)
        if code is None or code == sub.bureau_code or any(p.bureau_code == code for p in sub.partners):
            raise AlreadyInvited(code)
        _decide(officer, sub_id, Action.INVITE, audit=AuditAction.JOINT_INVITED)
        db.session.add(JointBureau(submission_id=sub.id, bureau_code=code, invited_by_id=officer.id))
        return db.session.get(Bureau, code)


def close(officer: User, sub_id: int, note: str) -> None:
    """Close with a public closing note (the resident and the public read it)."""
    with write_transaction():
        _decide(officer, sub_id, Action.CLOSE, audit=AuditAction.CLOSED, reason=note)


def reopen(officer: User, sub_id: int) -> None:
    with write_transaction():
        _decide(officer, sub_id, Action.REOPEN_CLOSED, audit=AuditAction.BUREAU_REOPENED)


# Reading a view ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RoutingReason:
    """Why the view is with this bureau, as the officer reads it."""

    automatic: bool
    moderator: str | None  # display name of the moderator who routed it, when one did
    confidence: float | None
    sent_back_by: str | None  # the bureau that sent it back before, if any
    came_back: bool  # it was sent back by this very bureau and routed to it again


def routing_reason(officer: User, sub: Submission) -> RoutingReason:
    last_route = db.session.execute(
        select(AuditEvent)
        .where(
            AuditEvent.submission_id == sub.id,
            AuditEvent.action.in_([AuditAction.AUTO_ROUTED, AuditAction.ROUTE_CONFIRMED, AuditAction.ROUTE_CHANGED]),
        )
        .order_by(AuditEvent.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    automatic = last_route is not None and last_route.action == AuditAction.AUTO_ROUTED
    moderator = last_route.actor.display_name if last_route is not None and last_route.actor else None
    return RoutingReason(
        automatic=automatic,
        moderator=None if automatic else moderator,
        confidence=sub.predicted_bureau_p,
        sent_back_by=sub.sent_back_by_code,
        came_back=sub.sent_back_by_code == officer.bureau_code and sub.bureau_code == officer.bureau_code,
    )


def now() -> datetime:
    return datetime.now(UTC)


def due(sub: Submission) -> datetime | None:
    """When the bureau's answer is due, while one is awaited (None once answered or closed)."""
    return sub.due_at if sub.status in workflow.AWAITING_ANSWER else None


def is_overdue(sub: Submission, at: datetime | None = None) -> bool:
    return sub.status in workflow.AWAITING_ANSWER and sub.due_at is not None and sub.due_at < (at or now())
