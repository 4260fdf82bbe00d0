"""How well routing works on live views, read from the audit history (the last 30 days).

Per bureau the classifier predicted: how many views it routed without a moderator, how many of
those came back (an officer sent it back, or a moderator re-routed it), and how often moderators
changed the prediction of a view they reviewed. The audit history already records every one of
these decisions with its time, so nothing new is stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import aliased

from ..extensions import db
from ..kernel.models import AuditAction, AuditEvent, Submission

WINDOW = timedelta(days=30)
ROUTING_DECISIONS = (AuditAction.AUTO_ROUTED, AuditAction.QUEUED_FOR_REVIEW, AuditAction.CLASSIFICATION_FAILED)
# An automatic route that someone had to undo.
UNDONE_BY = (AuditAction.SENT_BACK, AuditAction.ROUTE_CHANGED)
REVIEW_DECISIONS = (AuditAction.ROUTE_CONFIRMED, AuditAction.ROUTE_CHANGED)


@dataclass
class BureauQuality:
    bureau: str
    decided: int = 0  # views the worker decided on (routed or queued)
    auto_routed: int = 0
    undone: int = 0  # of those auto-routed, sent back by an officer or re-routed by a moderator
    reviewed: int = 0  # queued views a moderator routed
    changed: int = 0  # of those, routed elsewhere than predicted

    @property
    def auto_share(self) -> float | None:
        return self.auto_routed / self.decided if self.decided else None

    @property
    def undone_share(self) -> float | None:
        return self.undone / self.auto_routed if self.auto_routed else None

    @property
    def changed_share(self) -> float | None:
        return self.changed / self.reviewed if self.reviewed else None


@dataclass
class RoutingQuality:
    since: datetime
    bureaus: list[BureauQuality] = field(default_factory=list)

    @property
    def total(self) -> BureauQuality:
        total = BureauQuality(bureau="")
        for row in self.bureaus:
            for name in ("decided", "auto_routed", "undone", "reviewed", "changed"):
                setattr(total, name, getattr(total, name) + getattr(row, name))
        return total


def _counts_by_bureau(actions: tuple[str, ...], since: datetime, *extra) -> dict[tuple[str, str], int]:
    """Distinct views per (predicted bureau, action) among audit events since `since`."""
    rows = db.session.execute(
        select(Submission.predicted_bureau_code, AuditEvent.action, func.count(func.distinct(AuditEvent.submission_id)))
        .join(Submission, Submission.id == AuditEvent.submission_id)
        .where(AuditEvent.action.in_(actions), AuditEvent.created_at >= since, *extra)
        .group_by(Submission.predicted_bureau_code, AuditEvent.action)
    )
    return {(bureau, action): count for bureau, action, count in rows}


def _views_by_bureau(actions: tuple[str, ...], since: datetime, *extra) -> dict[str, int]:
    """Distinct views per predicted bureau with any of `actions` since `since` (each view once)."""
    rows = db.session.execute(
        select(Submission.predicted_bureau_code, func.count(func.distinct(AuditEvent.submission_id)))
        .join(Submission, Submission.id == AuditEvent.submission_id)
        .where(AuditEvent.action.in_(actions), AuditEvent.created_at >= since, *extra)
        .group_by(Submission.predicted_bureau_code)
    )
    return dict(rows.all())


def routing_quality(now: datetime | None = None) -> RoutingQuality:
    since = (now or datetime.now(UTC)) - WINDOW
    auto = aliased(AuditEvent)
    routed_automatically_before = exists().where(
        and_(
            auto.submission_id == AuditEvent.submission_id,
            auto.action == AuditAction.AUTO_ROUTED,
            auto.id < AuditEvent.id,
        )
    )
    decisions = _counts_by_bureau(ROUTING_DECISIONS, since)
    # A view both sent back and re-routed was undone once.
    undone = _views_by_bureau(UNDONE_BY, since, routed_automatically_before)
    # A moderator's route on a view that waited for review (not an undo of an automatic one).
    reviews = _counts_by_bureau(REVIEW_DECISIONS, since, ~routed_automatically_before)

    by_bureau: dict[str, BureauQuality] = {}

    def row(bureau: str | None) -> BureauQuality:
        return by_bureau.setdefault(bureau or "", BureauQuality(bureau=bureau or ""))

    for (bureau, action), count in decisions.items():
        row(bureau).decided += count
        if action == AuditAction.AUTO_ROUTED:
            row(bureau).auto_routed += count
    for bureau, count in undone.items():
        row(bureau).undone += count
    for (bureau, action), count in reviews.items():
        row(bureau).reviewed += count
        if action == AuditAction.ROUTE_CHANGED:
            row(bureau).changed += count
    return RoutingQuality(since=since, bureaus=sorted(by_bureau.values(), key=lambda r: r.bureau))
