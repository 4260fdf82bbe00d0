"""One decision on many views: the ones a moderator ticked, or every view matching the filters.

Each view is decided on its own, through the same services and workflow rules as a decision on
one view, so each is audited, refused when the workflow does not allow it, and refused as stale
when it changed after the moderator saw it. One failing view never undoes the others.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum

from sqlalchemy import select

from ..extensions import db
from ..kernel.models import RejectionReason, Submission, User
from ..kernel.workflow import TransitionNotAllowed
from . import queue, services

# The most one request decides on; the rest stay listed, and the page says how many remain.
LIMIT = 500


class Kind(StrEnum):
    ROUTE_SUGGESTED = "route_suggested"  # each to the bureau the classifier suggested for it
    ROUTE = "route"  # all to one bureau
    REJECT = "reject"


@dataclass(frozen=True)
class Decision:
    kind: Kind
    bureau: str | None = None  # for ROUTE
    area: str | None = None  # for ROUTE: the smart area too (default: each view's predicted one)
    reason: RejectionReason | None = None  # for REJECT


@dataclass
class Outcome:
    decided: list[str] = field(default_factory=list)  # references
    stale: list[str] = field(default_factory=list)  # changed since the moderator saw them
    refused: list[str] = field(default_factory=list)  # the decision is not possible for them now
    remaining: int = 0  # matching views beyond LIMIT, not decided this time


def matching_ids(filters: queue.QueueFilter, *, up_to_id: int, limit: int = LIMIT + 1) -> list[int]:
    """Views matching the filters that existed when the moderator looked (id ≤ up_to_id):
    views arriving afterwards were not in what they chose to decide on."""
    conditions = queue.conditions(replace(filters, campaigns_once=False))  # every copy of a campaign
    return list(
        db.session.execute(
            select(Submission.id).where(*conditions, Submission.id <= up_to_id).order_by(Submission.id).limit(limit)
        ).scalars()
    )


def apply(decision: Decision, targets: list[tuple[int, int | None]], *, actor: User) -> Outcome:
    """Decide on each (id, version seen) in turn; version None: as it is now (a filter's views)."""
    outcome = Outcome(remaining=max(0, len(targets) - LIMIT))
    for sub_id, version in targets[:LIMIT]:
        sub = db.session.get(Submission, sub_id)
        if sub is None:
            continue
        reference = sub.reference
        try:
            _decide(decision, sub, actor=actor, version=sub.version if version is None else version)
        except services.StaleDecision:
            outcome.stale.append(reference)
        except (services.InvalidDecision, TransitionNotAllowed):
            outcome.refused.append(reference)
        else:
            outcome.decided.append(reference)
    return outcome


def _decide(decision: Decision, sub: Submission, *, actor: User, version: int) -> None:
    if decision.kind == Kind.REJECT:
        services.reject(sub.id, reason=decision.reason, note=None, actor=actor, version=version)
        return
    bureau = sub.predicted_bureau_code if decision.kind == Kind.ROUTE_SUGGESTED else decision.bureau
    if bureau is None:
        raise services.InvalidDecision("no suggested bureau")
    area = decision.area or sub.predicted_area_code or sub.topic_area_code
    services.route(sub.id, area=area, bureau=bureau, actor=actor, version=version)
