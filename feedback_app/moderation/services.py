"""The review queue: moderators confirm or correct routes, reject, publish or hide."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from ..campaigns import services as campaigns
from ..extensions import db
from ..kernel import workflow
from ..kernel.database import write_transaction
from ..kernel.models import AuditAction, Bureau, RejectionReason, SmartArea, Submission, User, Visibility
from ..kernel.workflow import Action, TransitionNotAllowed
from ..text.redaction import Finding, find_personal_data, publication_source, span_key

# A moderator who opened a view holds it this long: others see who is on it. Holding never
# blocks anyone; a decision on a view changed meanwhile is refused as stale either way.
HOLD_FOR = timedelta(minutes=10)
# A moderator's own hold is written again only when it is older than this (it lasts HOLD_FOR).
HOLD_RENEW_AFTER = timedelta(minutes=2)


class StaleDecision(Exception):
    """Someone else changed the submission since the moderator opened it."""


class InvalidDecision(ValueError):
    pass


def get(sub_id: int) -> Submission | None:
    return db.session.get(Submission, sub_id)


def references(ids: list[int]) -> list[str]:
    return list(
        db.session.execute(select(Submission.reference).where(Submission.id.in_(ids)).order_by(Submission.id)).scalars()
    )


def find_by_reference(reference: str) -> Submission | None:
    return db.session.execute(
        select(Submission).where(Submission.reference == reference.strip().upper())
    ).scalar_one_or_none()


def _load_for_decision(sub_id: int, version: int) -> Submission:
    sub = db.session.get(Submission, sub_id, with_for_update=True)
    if sub is None:
        raise LookupError(sub_id)
    if sub.version != version:
        raise StaleDecision()
    return sub


def _commit_decision(fn):
    """Run a decision in a write transaction; a concurrent change surfaces as StaleDecision."""
    try:
        with write_transaction():
            fn()
    except StaleDataError as exc:
        raise StaleDecision() from exc


@dataclass(frozen=True)
class CampaignCopies:
    """The same decision made for a campaign's other copies waiting for review (references)."""

    decided: list[str]
    refused: list[str]  # the decision is not possible for them now
    stale: list[str]  # changed while this decision was being made


# The most copies one decision is repeated for; the rest stay waiting (as a bulk decision's).
CAMPAIGN_LIMIT = 500


def route(
    sub_id: int, *, area: str, bureau: str, actor: User, version: int, whole_campaign: bool = False
) -> CampaignCopies | None:
    """Route the view; with `whole_campaign`, each other copy of its campaign still waiting for
    review too (each audited, each refused on its own if it cannot be). None: no copies decided."""
    if db.session.get(SmartArea, area) is None or db.session.get(Bureau, bureau) is None:
        raise InvalidDecision("unknown smart area or bureau")

    def decide():
        sub = _load_for_decision(sub_id, version)
        confirmed = area == sub.predicted_area_code and bureau == sub.predicted_bureau_code
        workflow.decide(
            sub,
            Action.ROUTE,
            actor=actor,
            area=area,
            bureau=bureau,
            audit=AuditAction.ROUTE_CONFIRMED if confirmed else AuditAction.ROUTE_CHANGED,
        )

    _commit_decision(decide)
    if whole_campaign:
        return _for_copies(
            sub_id, lambda copy: route(copy.id, area=area, bureau=bureau, actor=actor, version=copy.version)
        )
    return None


def reject(
    sub_id: int, *, reason: RejectionReason, note: str | None, actor: User, version: int, whole_campaign: bool = False
) -> CampaignCopies | None:
    """Reject the view; with `whole_campaign`, its campaign's other waiting copies too (without
    the note, which was written about this one)."""
    reason = RejectionReason(reason)

    def decide():
        sub = _load_for_decision(sub_id, version)
        workflow.decide(
            sub, Action.REJECT, actor=actor, audit=AuditAction.REJECTED, reason=note or None, rejection_reason=reason
        )
        workflow.hide_with(sub, actor=actor, reason="rejected")

    _commit_decision(decide)
    if whole_campaign:
        return _for_copies(
            sub_id, lambda copy: reject(copy.id, reason=reason, note=None, actor=actor, version=copy.version)
        )
    return None


def _for_copies(sub_id: int, decide: Callable[[Submission], object]) -> CampaignCopies | None:
    """The decision just made on `sub_id`, made again for each other copy of its campaign still
    waiting for review, each in its own transaction: one that cannot be decided leaves the others."""
    campaign_id = db.session.execute(select(Submission.campaign_id).where(Submission.id == sub_id)).scalar_one_or_none()
    if campaign_id is None:
        return None
    outcome = CampaignCopies([], [], [])
    for copy_id in campaigns.waiting_copies(campaign_id, other_than=sub_id)[:CAMPAIGN_LIMIT]:
        copy = db.session.get(Submission, copy_id)
        if copy is None:
            continue
        reference = copy.reference
        try:
            decide(copy)
        except StaleDecision:
            outcome.stale.append(reference)
        except (InvalidDecision, TransitionNotAllowed):
            outcome.refused.append(reference)
        else:
            outcome.decided.append(reference)
    return outcome


def reopen(sub_id: int, *, note: str | None, actor: User, version: int) -> None:
    """A rejected view back in the review queue (a rejection made in error, say)."""

    def decide():
        sub = _load_for_decision(sub_id, version)
        workflow.decide(sub, Action.REOPEN, actor=actor, audit=AuditAction.REOPENED, reason=note or None)

    _commit_decision(decide)


def set_visibility(sub_id: int, *, visibility: Visibility, actor: User, version: int) -> None:
    visibility = Visibility(visibility)
    action, audit = {
        Visibility.PUBLISHED: (Action.PUBLISH, AuditAction.VISIBILITY_PUBLISHED),
        Visibility.HIDDEN: (Action.HIDE, AuditAction.VISIBILITY_HIDDEN),
    }[visibility]

    def decide():
        sub = _load_for_decision(sub_id, version)
        if sub.visibility != visibility:
            workflow.decide(sub, action, actor=actor, audit=audit)

    _commit_decision(decide)


def edit_public_text(sub_id: int, *, text: str | None, actor: User, version: int) -> list[Finding]:
    """Set the text the view is published with (None: the view as sent). It is masked like any
    other text when shown; returns what the masking hides in it, for the moderator to check."""

    def decide():
        sub = _load_for_decision(sub_id, version)
        if text != sub.public_text:
            workflow.edit_public_text(sub, text, actor=actor)

    _commit_decision(decide)
    return find_personal_data(text) if text else []


@dataclass(frozen=True)
class Masked:
    """One thing the masking hides in the text a view is published with, as staff see it."""

    kind: str
    text: str  # as the resident (or the moderator's edit) wrote it
    shown: bool  # a moderator marked it "not personal data": published as typed


def masking_of(sub: Submission) -> list[Masked]:
    """What the masking finds in the text the view is published with, each thing once."""
    marked = {span_key(text) for text in sub.not_personal or ()}
    source = publication_source(sub)
    found: dict[str, Masked] = {}
    for finding in find_personal_data(source):
        text = source[finding.start : finding.end]
        found.setdefault(span_key(text), Masked(finding.kind, text, span_key(text) in marked))
    return list(found.values())


def mark_not_personal(sub_id: int, *, texts: list[str], actor: User, version: int) -> None:
    """Show these findings as typed (and mask every other one). Only what the masking finds in
    the view's text can be marked, so a form cannot smuggle in a rule of its own."""

    def decide():
        sub = _load_for_decision(sub_id, version)
        found = {span_key(m.text): m.text for m in masking_of(sub)}
        wanted = {span_key(text) for text in texts}
        if not wanted <= found.keys():
            raise InvalidDecision("only what the masking finds can be marked")
        marks = sorted(found[key] for key in wanted) or None
        if marks != (sub.not_personal or None):
            workflow.mark_not_personal(sub, marks, actor=actor)

    _commit_decision(decide)


def hold(sub: Submission, moderator: User) -> User | None:
    """Note that `moderator` has the view open; returns who else holds it, if anyone does now.

    A Core UPDATE: it leaves the view's version (stale-save checks) and updated_at alone. It
    takes the hold only where nobody else holds it, so of two moderators opening the view at the
    same moment one gets it and the other is told; and it is not written again while the
    moderator's own hold is young (reloads and Back write nothing).
    """
    now = datetime.now(UTC)
    if sub.held_by_id == moderator.id and sub.held_at is not None and now - sub.held_at < HOLD_RENEW_AFTER:
        return None
    free = or_(
        Submission.held_by_id.is_(None), Submission.held_by_id == moderator.id, Submission.held_at < now - HOLD_FOR
    )
    with write_transaction():
        taken = db.session.execute(
            update(Submission)
            .where(Submission.id == sub.id, free)
            .values(held_by_id=moderator.id, held_at=now, updated_at=Submission.updated_at)
            .execution_options(synchronize_session=False)
        ).rowcount
        if taken:
            return None
        holder_id, held_at = db.session.execute(
            select(Submission.held_by_id, Submission.held_at).where(Submission.id == sub.id)
        ).one()
        # The page says who holds it since when: as now stored, without making `sub` a change to save.
        set_committed_value(sub, "held_by_id", holder_id)
        set_committed_value(sub, "held_at", held_at)
        return db.session.get(User, holder_id)


def release(sub_id: int, moderator: User) -> None:
    """The moderator decided and moved on: the view is no longer held by them."""
    with write_transaction():
        db.session.execute(
            update(Submission)
            .where(Submission.id == sub_id, Submission.held_by_id == moderator.id)
            .values(held_by_id=None, held_at=None, updated_at=Submission.updated_at)
            .execution_options(synchronize_session=False)
        )


def held_by_other(sub: Submission, moderator: User) -> bool:
    return sub.held_by_id not in (None, moderator.id) and _recent(sub.held_at, datetime.now(UTC))


def _recent(moment: datetime | None, now: datetime) -> bool:
    return moment is not None and now - moment < HOLD_FOR
