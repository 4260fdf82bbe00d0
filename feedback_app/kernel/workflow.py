"""A submission's life as one state machine: the only place that knows what a view allows.

`allowed_actions(sub, role)` answers which decisions a person may take on a view now; the
staff pages show exactly those and the services refuse any other (`decide` checks again under
the row lock). Every change to a submission's status, route or visibility goes through a
function here, which writes the audit event in the same transaction as the change itself, and
`history` reads those events back.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, select, update
from sqlalchemy.orm.util import AliasedClass

from ..extensions import db
from . import audit as audit_log
from . import deadlines
from .models import (
    AuditAction,
    AuditEvent,
    Bureau,
    NearDuplicateKey,
    RejectionReason,
    Role,
    Status,
    Submission,
    User,
    Visibility,
)


class Action(StrEnum):
    """A decision a person takes on a view."""

    ROUTE = "route"  # confirm or change the bureau (and smart area)
    REJECT = "reject"
    REOPEN = "reopen"  # a rejected view goes back to the review queue
    PUBLISH = "publish"
    HIDE = "hide"
    EDIT_PUBLIC_TEXT = "edit_public_text"  # correct what the automatic redaction removed or missed
    ANSWER = "answer"
    SEND_BACK = "send_back"  # not this bureau's: back to the moderators
    CLOSE = "close"
    ASSIGN = "assign"  # give the view to an officer of the bureau (or take it), or reassign it
    NOTE = "note"  # an internal note between officers
    INVITE = "invite"  # make it a joint view: a second bureau adds its part of the answer
    ANSWER_PART = "answer_part"  # an invited bureau's part of a joint view's answer
    REOPEN_CLOSED = "reopen_closed"  # the bureau reopens a view it closed, within REOPEN_WITHIN


# The status each decision leaves a view in, from each status in which it may be taken.
STATUS_RULES: dict[Action, dict[Status, Status]] = {
    Action.ROUTE: {
        Status.RECEIVED: Status.ROUTED,
        Status.NEEDS_REVIEW: Status.ROUTED,
        Status.ROUTED: Status.ROUTED,
        Status.IN_PROGRESS: Status.ROUTED,
    },
    Action.REJECT: {Status.RECEIVED: Status.REJECTED, Status.NEEDS_REVIEW: Status.REJECTED},
    Action.REOPEN: {Status.REJECTED: Status.NEEDS_REVIEW},
    Action.ASSIGN: {Status.ROUTED: Status.IN_PROGRESS, Status.IN_PROGRESS: Status.IN_PROGRESS},
    Action.ANSWER: {
        Status.ROUTED: Status.ANSWERED,
        Status.IN_PROGRESS: Status.ANSWERED,
        Status.ANSWERED: Status.ANSWERED,
    },
    Action.SEND_BACK: {Status.ROUTED: Status.NEEDS_REVIEW, Status.IN_PROGRESS: Status.NEEDS_REVIEW},
    Action.CLOSE: {Status.ROUTED: Status.CLOSED, Status.IN_PROGRESS: Status.CLOSED, Status.ANSWERED: Status.CLOSED},
    Action.REOPEN_CLOSED: {Status.CLOSED: Status.IN_PROGRESS},
    # Neither changes the status: allowed wherever the view is in a bureau's hands and still open.
    Action.INVITE: {s: s for s in (Status.ROUTED, Status.IN_PROGRESS, Status.ANSWERED)},
    Action.ANSWER_PART: {s: s for s in (Status.ROUTED, Status.IN_PROGRESS, Status.ANSWERED)},
    Action.NOTE: {s: s for s in (Status.ROUTED, Status.IN_PROGRESS, Status.ANSWERED, Status.CLOSED)},
}
# Events of a bureau's own work that its sender is not shown (the tracking page's history).
INTERNAL_EVENTS = frozenset({AuditAction.ASSIGNED, AuditAction.NOTE_ADDED})
# A closed view can be reopened by its bureau for this long after it was closed.
REOPEN_WITHIN = timedelta(days=30)
# Publication, the same way: the visibility each decision leaves, from each it may be taken in.
VISIBILITY_RULES: dict[Action, dict[Visibility, Visibility]] = {
    Action.PUBLISH: {Visibility.PENDING: Visibility.PUBLISHED, Visibility.HIDDEN: Visibility.PUBLISHED},
    Action.HIDE: {Visibility.PENDING: Visibility.HIDDEN, Visibility.PUBLISHED: Visibility.HIDDEN},
}
# A rejected view is never published (rejecting one hides it).
NEVER_PUBLISHED = frozenset({Status.REJECTED})
# Changes no person decides: the worker routes a new view, or queues it for a moderator.
AUTOMATIC: dict[Status, set[Status]] = {Status.RECEIVED: {Status.ROUTED, Status.NEEDS_REVIEW}}

MODERATOR_ACTIONS = frozenset(
    {
        Action.ROUTE,
        Action.REJECT,
        Action.REOPEN,
        Action.PUBLISH,
        Action.HIDE,
        Action.EDIT_PUBLIC_TEXT,
    }
)
OFFICER_ACTIONS = frozenset(
    {
        Action.ASSIGN,
        Action.NOTE,
        Action.ANSWER,
        Action.INVITE,
        Action.SEND_BACK,
        Action.CLOSE,
        Action.REOPEN_CLOSED,
    }
)
# What an officer of a bureau invited to a joint view may do on it (the owner does the rest).
PARTNER_ACTIONS = frozenset({Action.ANSWER_PART, Action.NOTE})
ROLE_ACTIONS: dict[Role, frozenset[Action]] = {
    Role.MODERATOR: MODERATOR_ACTIONS,
    Role.ADMIN: MODERATOR_ACTIONS,
    Role.OFFICER: OFFICER_ACTIONS,
    Role.RESIDENT: frozenset(),
}

# The named sets of states. Queries, services and templates ask for these; none writes its own.
# Tuples, in the order pages list them. AWAITING_REVIEW's order is also the order of the partial
# indexes' predicate (models._IN_QUEUE, migration 0009): SQLite uses such an index only for the
# very same list, and a test holds the two equal.
#
# Waiting for a moderator ("received" too: a view whose routing could not even be recorded).
AWAITING_REVIEW: tuple[Status, ...] = (Status.NEEDS_REVIEW, Status.RECEIVED)
# Belonging to a bureau: in its inbox (nobody's yet, or an officer's), answered or closed.
WITH_A_BUREAU: tuple[Status, ...] = (Status.ROUTED, Status.IN_PROGRESS, Status.ANSWERED, Status.CLOSED)
# Waiting for the bureau's answer: these have a due date that can pass.
AWAITING_ANSWER: tuple[Status, ...] = (Status.ROUTED, Status.IN_PROGRESS)


# A query's view of the submission table: the table itself or an alias of it (a subquery's copy).
View = type[Submission] | AliasedClass[Submission]


def awaiting_review(view: View = Submission) -> ColumnElement[bool]:
    """AWAITING_REVIEW as SQL, its states written in as constants rather than bound values: only
    then can either database prove that a query lies inside the partial indexes on the backlog
    (migration 0009)."""
    return and_(view.status.in_([bindparam(None, s.value, literal_execute=True) for s in AWAITING_REVIEW]))


def awaiting_answer(view: View = Submission) -> ColumnElement[bool]:
    """AWAITING_ANSWER as SQL with its states as constants, as `awaiting_review` does: the inbox's
    partial indexes (migration 0020) are then usable on SQLite too."""
    return and_(view.status.in_([bindparam(None, s.value, literal_execute=True) for s in AWAITING_ANSWER]))


def published(view: View = Submission) -> ColumnElement[bool]:
    """The one SQL condition for "the public may see this view" (`view`: Submission or an alias
    of it), from the same rules as `is_public`: published, and in no state that is never public."""
    return and_(view.visibility == Visibility.PUBLISHED, view.status.not_in(sorted(NEVER_PUBLISHED)))


class TransitionNotAllowed(Exception):
    def __init__(self, current: str, target: str):
        super().__init__(f"cannot {target} a view that is {current}")
        self.current = current
        self.target = target


def allowed_actions(
    sub: Submission, role: Role | str, *, partner: bool = False, now: datetime | None = None
) -> frozenset[Action]:
    """The decisions `role` may take on `sub` as it is now (an officer's bureau is checked by
    the bureau's own queries, which show an officer nothing else). `partner`: the officer's
    bureau was invited to a joint view that another bureau owns."""
    status, visibility = Status(sub.status), Visibility(sub.visibility)
    allowed = {action for action, moves in STATUS_RULES.items() if status in moves}
    if status not in NEVER_PUBLISHED:
        allowed |= {action for action, moves in VISIBILITY_RULES.items() if visibility in moves}
        allowed.add(Action.EDIT_PUBLIC_TEXT)
    if Action.REOPEN_CLOSED in allowed and (
        sub.closed_at is None or (now or datetime.now(UTC)) - sub.closed_at > REOPEN_WITHIN
    ):
        allowed.discard(Action.REOPEN_CLOSED)
    role_actions = ROLE_ACTIONS.get(Role(role), frozenset())
    if partner:
        role_actions = PARTNER_ACTIONS if Role(role) == Role.OFFICER else frozenset()
    else:
        allowed.discard(Action.ANSWER_PART)
    return frozenset(allowed) & role_actions


def _snapshot(sub: Submission) -> dict[str, Any]:
    return {
        "status": sub.status,
        "area": sub.area_code,
        "bureau": sub.bureau_code,
        "visibility": sub.visibility,
        "rejection_reason": sub.rejection_reason,
        "assignee": sub.assigned_to_id,
    }


def is_public(visibility: str | None, status: str | None) -> bool:
    """Whether the public sees a view in this state (what `published()` says in SQL)."""
    return visibility == Visibility.PUBLISHED and status not in NEVER_PUBLISHED


def _audit(
    sub: Submission,
    action: AuditAction,
    before: dict[str, Any],
    actor: User | None,
    reason: str | None,
) -> None:
    after = _snapshot(sub)
    public = is_public(after["visibility"], after["status"])
    if public != is_public(before.get("visibility"), before.get("status")):
        # The form's suggestions read the keys of public views only (campaigns.py): they follow here.
        db.session.execute(
            update(NearDuplicateKey).where(NearDuplicateKey.submission_id == sub.id).values(published=public)
        )
    audit_log.record(
        action,
        actor=actor,
        submission_id=sub.id,
        before={k: v for k, v in before.items() if after.get(k) != v} or before,
        after={k: v for k, v in after.items() if before.get(k) != v} or after,
        reason=reason,
    )


def _due_from(moment: datetime, bureau_code: str | None) -> datetime:
    bureau = db.session.get(Bureau, bureau_code) if bureau_code else None
    return deadlines.due_at(moment, bureau.answer_target_days if bureau else deadlines.DEFAULT_TARGET_DAYS)


def _move(sub: Submission, to: Status, area: str | None, bureau: str | None) -> None:
    current = Status(sub.status)
    now = datetime.now(UTC)
    if to in WITH_A_BUREAU:
        if area is not None:
            sub.area_code = area
        previous_bureau = sub.bureau_code
        if bureau is not None:
            sub.bureau_code = bureau
        if sub.bureau_code is None:
            raise TransitionNotAllowed(current, to)
        if to == Status.ROUTED and (current not in WITH_A_BUREAU or sub.bureau_code != previous_bureau):
            # It reaches a bureau (again): the clock starts, and nobody there has it yet.
            sub.routed_at = now
            sub.due_at = _due_from(now, sub.bureau_code)
            sub.assigned_to_id = None
            sub.suggested_bureau_code = None
    elif to == Status.NEEDS_REVIEW:
        # Back in the queue the submission belongs to no bureau until a moderator routes it.
        sub.bureau_code = None
        sub.due_at = None
        sub.assigned_to_id = None
    if to == Status.ANSWERED and sub.answered_at is None:
        sub.answered_at = now
    if to != current:
        sub.closed_at = now if to == Status.CLOSED else None
    sub.status = to


def decide(
    sub: Submission,
    action: Action,
    *,
    actor: User,
    audit: AuditAction,
    reason: str | None = None,
    area: str | None = None,
    bureau: str | None = None,
    rejection_reason: RejectionReason | None = None,
    assignee: User | None = None,
    suggested_bureau: str | None = None,
    partner: bool = False,
) -> None:
    """A person's decision: refused unless `allowed_actions` allows it; audited as `audit`.

    `reason` is the person's own words; a rejection's reason code is part of the view's state
    (`rejection_reason`), so the history can name it in the reader's language. `assignee`: whom
    ASSIGN gives the view to (REOPEN_CLOSED gives it to the actor); `suggested_bureau`: where
    SEND_BACK says it belongs.
    """
    action = Action(action)
    if action not in allowed_actions(sub, actor.role, partner=partner):
        raise TransitionNotAllowed(sub.status, action)
    before = _snapshot(sub)
    sending_bureau = sub.bureau_code
    if action in VISIBILITY_RULES:
        sub.visibility = VISIBILITY_RULES[action][Visibility(sub.visibility)]
    else:
        _move(sub, STATUS_RULES[action][Status(sub.status)], area, bureau)
    if action == Action.ASSIGN:
        if assignee is None:
            raise ValueError("an assignment needs an officer")
        sub.assigned_to_id = assignee.id
    elif action == Action.CLOSE:
        sub.closing_note = reason  # public: what the bureau tells the resident and the public
    elif action == Action.REOPEN_CLOSED:
        # Reopened, it is the reopening officer's, and its answer is due a whole target from now.
        sub.assigned_to_id = actor.id
        sub.closing_note = None
        sub.due_at = _due_from(datetime.now(UTC), sub.bureau_code)
    elif action == Action.SEND_BACK:
        sub.sent_back_by_code = sending_bureau
        sub.suggested_bureau_code = suggested_bureau
    if action == Action.REJECT:
        if rejection_reason is None:
            raise ValueError("a rejection needs a reason")
        sub.rejection_reason = RejectionReason(rejection_reason)
    elif action == Action.REOPEN:
        sub.rejection_reason = None
    _audit(sub, audit, before, actor, reason)


def automatic(
    sub: Submission,
    to: Status,
    *,
    audit: AuditAction,
    reason: str | None = None,
    bureau: str | None = None,
    area: str | None = None,
) -> None:
    """A change the worker makes on its own (routing a new view, or queueing it for review)."""
    current = Status(sub.status)
    if to not in AUTOMATIC.get(current, set()):
        raise TransitionNotAllowed(current, to)
    before = _snapshot(sub)
    _move(sub, to, area, bureau)
    _audit(sub, audit, before, None, reason)


# Recorded as the reason when a view is published with its answer (bureau.services' policy).
PUBLISHED_WITH_ANSWER = "published with its answer"


def publish_with_answer(sub: Submission, *, actor: User) -> None:
    """Publish a view as part of answering it, under the publication policy the bureau's service
    applies (routed without a moderator, no flag, no personal data found): audited as published."""
    if sub.visibility == Visibility.PENDING and sub.status not in NEVER_PUBLISHED:
        before = _snapshot(sub)
        sub.visibility = Visibility.PUBLISHED
        _audit(sub, AuditAction.VISIBILITY_PUBLISHED, before, actor, PUBLISHED_WITH_ANSWER)


def hide_with(sub: Submission, *, actor: User, reason: str) -> None:
    """Withdraw a published view as part of another decision (rejecting it)."""
    if sub.visibility == Visibility.PUBLISHED:
        before = _snapshot(sub)
        sub.visibility = Visibility.HIDDEN
        _audit(sub, AuditAction.VISIBILITY_HIDDEN, before, actor, reason)


def edit_public_text(sub: Submission, text: str | None, *, actor: User) -> None:
    """Set the text the public sees (None: back to the view as sent), masked like any other
    text when shown; both versions audited."""
    _edit_publication(sub, "public_text", text, AuditAction.PUBLIC_TEXT_EDITED, actor)


def mark_not_personal(sub: Submission, marks: list[str] | None, *, actor: User) -> None:
    """Set which of the masking's findings are shown as typed (None: all masked); audited, since
    it decides what personal data could reach the public."""
    _edit_publication(sub, "not_personal", marks, AuditAction.NOT_PERSONAL_MARKED, actor)


def _edit_publication(sub: Submission, field: str, value: object, audit: AuditAction, actor: User) -> None:
    if Action.EDIT_PUBLIC_TEXT not in allowed_actions(sub, actor.role):
        raise TransitionNotAllowed(sub.status, Action.EDIT_PUBLIC_TEXT)
    before = {field: getattr(sub, field)}
    setattr(sub, field, value)
    audit_log.record(audit, actor=actor, submission_id=sub.id, before=before, after={field: value})


def joined_campaign(submission_id: int, campaign_id: int) -> None:
    """The worker found the view to be a near copy of others (campaigns.place)."""
    audit_log.record(
        AuditAction.JOINED_CAMPAIGN,
        submission_id=submission_id,
        before={"campaign": None},
        after={"campaign": campaign_id},
    )


def left_campaign(submission_id: int, campaign_id: int, *, actor: User) -> None:
    """A moderator took the view out of a campaign it was grouped into (campaigns.split_out)."""
    audit_log.record(
        AuditAction.SPLIT_FROM_CAMPAIGN,
        actor=actor,
        submission_id=submission_id,
        before={"campaign": campaign_id},
        after={"campaign": None},
    )


def record_creation(sub: Submission, action: AuditAction, *, actor: User | None, reason: str | None = None) -> None:
    """Audit a submission coming into being: nothing before, its first state after."""
    _audit(sub, action, {}, actor, reason)


def history(sub: Submission) -> list[AuditEvent]:
    """Everything that happened to a view, oldest first, as this module recorded it."""
    return list(
        db.session.execute(
            select(AuditEvent).where(AuditEvent.submission_id == sub.id).order_by(AuditEvent.id)
        ).scalars()
    )
