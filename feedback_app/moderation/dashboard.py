"""The moderators' dashboard: the backlog by age, decisions per day, time to triage, and how
routing does (the routing-quality figures admins see, per bureau). Read from the submissions and
the audit history; nothing new is stored."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import case, func, select

from ..extensions import db
from ..kernel.models import AuditAction, AuditEvent, Submission
from ..routing.quality import RoutingQuality, routing_quality
from .queue import IN_QUEUE

# The backlog's age bands: (upper bound, key for i18n.BACKLOG_AGE_LABELS); the last is open.
AGE_BANDS = (
    (timedelta(hours=1), "hour"),
    (timedelta(days=1), "day"),
    (timedelta(days=3), "three_days"),
    (timedelta(days=7), "week"),
    (None, "older"),
)
DECISION_DAYS = 14
TRIAGE_WINDOW = timedelta(days=30)
# A moderator's first decision on a view: it has been triaged.
TRIAGE_ACTIONS = (AuditAction.ROUTE_CONFIRMED, AuditAction.ROUTE_CHANGED, AuditAction.REJECTED)
DECISION_ACTIONS = TRIAGE_ACTIONS + (
    AuditAction.REOPENED,
    AuditAction.VISIBILITY_PUBLISHED,
    AuditAction.VISIBILITY_HIDDEN,
    AuditAction.PUBLIC_TEXT_EDITED,
)


@dataclass
class Dashboard:
    backlog: list[tuple[str, int]]  # (age band key, views waiting), youngest first
    decisions: list[tuple[date, int]]  # moderators' decisions per day, oldest first
    median_triage: timedelta | None  # from arrival to a moderator's first decision
    triaged: int  # views that median is over
    routing: RoutingQuality

    @property
    def waiting(self) -> int:
        return sum(count for _, count in self.backlog)


def _backlog(now: datetime) -> list[tuple[str, int]]:
    band = case(
        *[(Submission.created_at > now - bound, key) for bound, key in AGE_BANDS if bound is not None],
        else_=AGE_BANDS[-1][1],
    )
    counts = dict(db.session.execute(select(band, func.count()).where(IN_QUEUE).group_by(band)).all())
    return [(key, counts.get(key, 0)) for _, key in AGE_BANDS]


def _decisions_per_day(now: datetime) -> list[tuple[date, int]]:
    first = (now - timedelta(days=DECISION_DAYS - 1)).date()
    since = datetime.combine(first, datetime.min.time(), tzinfo=UTC)
    times = db.session.execute(
        select(AuditEvent.created_at).where(AuditEvent.action.in_(DECISION_ACTIONS), AuditEvent.created_at >= since)
    ).scalars()
    per_day = Counter(moment.astimezone(UTC).date() for moment in times)
    return [(first + timedelta(days=n), per_day.get(first + timedelta(days=n), 0)) for n in range(DECISION_DAYS)]


def _triage_times(now: datetime) -> list[timedelta]:
    first_decision = func.min(AuditEvent.created_at)
    rows = db.session.execute(
        select(Submission.created_at, first_decision)
        .join(AuditEvent, AuditEvent.submission_id == Submission.id)
        .where(AuditEvent.action.in_(TRIAGE_ACTIONS), Submission.created_at >= now - TRIAGE_WINDOW)
        .group_by(Submission.id, Submission.created_at)
    ).all()
    return [_aware(decided) - _aware(arrived) for arrived, decided in rows]


def _aware(moment: datetime) -> datetime:
    # min() over a column loses its type on SQLite, which hands back naive UTC text.
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def build(now: datetime | None = None) -> Dashboard:
    now = now or datetime.now(UTC)
    times = _triage_times(now)
    return Dashboard(
        backlog=_backlog(now),
        decisions=_decisions_per_day(now),
        median_triage=statistics.median(times) if times else None,
        triaged=len(times),
        routing=routing_quality(now),
    )
