"""The statistics' rollup tables (models.StatsMonth, StatsDistribution), kept by the worker.

A view belongs to the month, in Hong Kong time, in which it was received; each row counts the
views of one month as they stand now. When a view changes in a way a figure counts, its event's
handler marks that month dirty (StatsDirtyMonth); every minute the `refresh_rollups` task
recounts each dirty month from its views and clears the mark, unless the month was marked again
while it counted (the change may have come after the count read the views). `flask stats
rebuild` recounts every month from scratch. Recounting a month whole, rather than adding and
taking away per event, makes a handler run twice (or an event lost and swept late) harmless:
the count is of the rows, never of the events.

What each figure counts (the columns' comments in kernel/models.py):
- routed_auto: the view has an AUTO_ROUTED event (the classifier routed it without a moderator);
- routed_moderator: not that, and a moderator routed it (ROUTE_CONFIRMED or ROUTE_CHANGED);
- overridden: routed by a moderator, now with a bureau other than the classifier's prediction.
  routing/quality.py's "changed" is the same decision seen as events (a moderator's
  ROUTE_CHANGED on a view that was not auto-routed); here the bureau alone counts, as the public
  report speaks of bureaus, and a view with no prediction (classification failed) is never
  "overridden";
- answer_days (StatsDistribution): whole days from routed_at to answered_at, per bureau;
- campaign_size: copies per campaign, at the month of its first copy, bureau ''.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, cast

from huey import crontab
from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Date,
    and_,
    bindparam,
    case,
    delete,
    exists,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.orm import aliased

from ..extensions import db
from ..kernel import events, workflow
from ..kernel.database import write_transaction
from ..kernel.deadlines import HONG_KONG
from ..kernel.models import (
    AnswerFeedback,
    AuditAction,
    AuditEvent,
    PublicState,
    RejectionReason,
    StatsDirtyMonth,
    StatsDistribution,
    StatsMeasure,
    StatsMonth,
    Submission,
    UTCDateTime,
    Verdict,
    Visibility,
)
from ..kernel.task_queue import huey, in_app_context

log = logging.getLogger(__name__)

# Every event after which a figure of its view may read differently.
COUNTED_CHANGES = (
    AuditAction.SUBMITTED,
    AuditAction.AUTO_ROUTED,
    AuditAction.QUEUED_FOR_REVIEW,  # personal_data_found is set with the routing decision
    AuditAction.CLASSIFICATION_FAILED,
    AuditAction.ROUTE_CONFIRMED,
    AuditAction.ROUTE_CHANGED,
    AuditAction.REJECTED,
    AuditAction.REOPENED,
    AuditAction.VISIBILITY_PUBLISHED,
    AuditAction.VISIBILITY_HIDDEN,
    AuditAction.ANSWERED,
    AuditAction.SENT_BACK,
    AuditAction.CLOSED,
    AuditAction.BUREAU_REOPENED,  # a new due date
    AuditAction.JOINED_CAMPAIGN,
    AuditAction.SPLIT_FROM_CAMPAIGN,
    AuditAction.ANSWER_FEEDBACK_GIVEN,
)
CAMPAIGN_CHANGES = frozenset({AuditAction.JOINED_CAMPAIGN, AuditAction.SPLIT_FROM_CAMPAIGN})
MODERATOR_ROUTES = (AuditAction.ROUTE_CONFIRMED, AuditAction.ROUTE_CHANGED)
NOT_ROUTED = ""  # bureau_code of the views no bureau has now
DAY_SECONDS = 86400


def month_of(moment: datetime) -> date:
    """The first day of the Hong Kong month `moment` falls in."""
    return moment.astimezone(HONG_KONG).date().replace(day=1)


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def month_range(month: date) -> tuple[datetime, datetime]:
    """The month's first instant and the next month's, in UTC (a range over created_at)."""

    def start(day: date) -> datetime:
        return datetime(day.year, day.month, 1, tzinfo=HONG_KONG).astimezone(UTC)

    return start(month), start(next_month(month))


# --- Marking (the events' handler) ----------------------------------------------------------

_MARK = text(
    "INSERT INTO stats_dirty_month (month, marked_at) VALUES (:month, :now) "
    "ON CONFLICT (month) DO UPDATE SET marked_at = excluded.marked_at"
).bindparams(bindparam("month", type_=Date()), bindparam("now", type_=UTCDateTime()))


def mark_dirty(months: Iterable[date]) -> None:
    """Mark months to be recounted (again), in the current transaction."""
    now = datetime.now(UTC)
    for month in sorted(set(months)):
        db.session.execute(_MARK, {"month": month, "now": now})


@events.subscribe(*COUNTED_CHANGES, name="stats.mark_dirty")
def view_changed(event: events.Event) -> None:
    """Safe to run twice: marking a marked month only marks it later."""
    if event.submission_id is None:
        return
    received = db.session.execute(
        select(Submission.created_at).where(Submission.id == event.submission_id)
    ).scalar_one_or_none()
    if received is None:
        return
    months = {month_of(received)}
    if event.name in CAMPAIGN_CHANGES:
        campaign_id = event.after.get("campaign") or event.before.get("campaign")
        # A campaign's size is counted at its first copy's month: the first of the other copies
        # (this view may have been, or have just become, the first one).
        first_other = db.session.execute(
            select(func.min(Submission.created_at)).where(
                Submission.campaign_id == campaign_id, Submission.id != event.submission_id
            )
        ).scalar_one_or_none()
        if first_other is not None:
            months.add(month_of(first_other))
    with write_transaction():
        mark_dirty(months)


# --- Counting a month -----------------------------------------------------------------------


@dataclass(frozen=True)
class MonthCounts:
    month: date
    rows: list[dict[str, object]]  # StatsMonth rows
    distribution: list[dict[str, object]]  # StatsDistribution rows


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    """How many of the group's views meet `condition`."""
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _counts_query(start: datetime, end: datetime):
    auto = aliased(AuditEvent)
    by_moderator = aliased(AuditEvent)
    routed_auto = exists().where(auto.submission_id == Submission.id, auto.action == AuditAction.AUTO_ROUTED)
    routed_by_moderator = exists().where(
        by_moderator.submission_id == Submission.id, by_moderator.action.in_(MODERATOR_ROUTES)
    )
    # Computed once per view in the inner query, then summed: the outer sums read plain columns.
    per_view = (
        select(
            Submission.topic_area_code.label("area_code"),
            func.coalesce(Submission.bureau_code, NOT_ROUTED).label("bureau_code"),
            Submission.visibility,
            Submission.rejection_reason,
            Submission.personal_data_found,
            Submission.predicted_bureau_code,
            Submission.answered_at,
            Submission.due_at,
            Submission.campaign_id,
            AnswerFeedback.verdict,
            case((workflow.published(), 1), else_=0).label("published"),
            case((routed_auto, 1), else_=0).label("auto"),
            case((routed_by_moderator, 1), else_=0).label("moderator"),
        )
        .outerjoin(AnswerFeedback, AnswerFeedback.submission_id == Submission.id)
        .where(Submission.created_at >= start, Submission.created_at < end)
        .subquery()
    )
    v = per_view.c
    moderator_only = and_(v.auto == 0, v.moderator == 1)
    return select(
        v.area_code,
        v.bureau_code,
        func.count().label("received"),
        _flag(v.published == 1).label("published"),
        _flag(v.visibility == Visibility.HIDDEN).label("hidden"),
        *(_flag(v.rejection_reason == reason).label(f"rejected_{reason.value}") for reason in RejectionReason),
        _flag(v.personal_data_found.is_(True)).label("personal_data"),
        _flag(v.auto == 1).label("routed_auto"),
        _flag(moderator_only).label("routed_moderator"),
        _flag(
            and_(
                moderator_only,
                v.predicted_bureau_code.is_not(None),
                v.bureau_code != NOT_ROUTED,
                v.bureau_code != v.predicted_bureau_code,
            )
        ).label("overridden"),
        _flag(v.answered_at.is_not(None)).label("answered"),
        _flag(and_(v.answered_at.is_not(None), v.due_at.is_not(None), v.answered_at <= v.due_at)).label(
            "answered_on_time"
        ),
        *(_flag(v.verdict == verdict).label(f"helped_{verdict.value}") for verdict in Verdict),
        _flag(v.campaign_id.is_not(None)).label("in_campaign"),
    ).group_by(v.area_code, v.bureau_code)


def whole_days(start: datetime, end: datetime) -> int:
    """Whole days from start to end (0 when end came first: a view answered, then routed again)."""
    return max(0, int((end - start).total_seconds() // DAY_SECONDS))


def count_month(month: date) -> MonthCounts:
    """The month's rollup rows, counted from its views (one grouped pass over created_at's
    range, one over its answered views, one over its campaigns)."""
    start, end = month_range(month)
    rows = [{"month": month, **row._asdict()} for row in db.session.execute(_counts_query(start, end))]
    in_month = (Submission.created_at >= start, Submission.created_at < end)

    days: Counter[tuple[str, int]] = Counter()
    answered = db.session.execute(
        select(Submission.bureau_code, Submission.routed_at, Submission.answered_at).where(
            *in_month, Submission.answered_at.is_not(None), Submission.routed_at.is_not(None)
        )
    )
    for bureau, routed_at, answered_at in answered:
        days[(bureau or NOT_ROUTED, whole_days(routed_at, answered_at))] += 1

    campaigns_here = select(Submission.campaign_id).where(*in_month, Submission.campaign_id.is_not(None)).distinct()
    copies = aliased(Submission)
    sizes = Counter(
        db.session.execute(
            select(func.count())
            .where(copies.campaign_id.in_(campaigns_here))
            .group_by(copies.campaign_id)
            .having(func.min(copies.created_at) >= start, func.min(copies.created_at) < end)
        ).scalars()
    )
    distribution = [
        {"month": month, "measure": StatsMeasure.ANSWER_DAYS.value, "bureau_code": b, "value": d, "count": n}
        for (b, d), n in sorted(days.items())
    ] + [
        {"month": month, "measure": StatsMeasure.CAMPAIGN_SIZE.value, "bureau_code": NOT_ROUTED, "value": s, "count": n}
        for s, n in sorted(sizes.items())
    ]
    return MonthCounts(month, rows, distribution)


# Two workers recounting at once (each consumer schedules the periodic task) take turns, and
# each counts inside its turn: otherwise the one that counted first could store last, older
# counts over newer ones, with the mark already cleared. PostgreSQL: this transaction-scoped
# lock (the count reads without blocking anyone's writes); SQLite: the write transaction holds
# the database's write lock from its BEGIN IMMEDIATE (a month of 27,000 views: about 80 ms).
_ROLLUP_LOCK = text("SELECT pg_advisory_xact_lock(1917190001)")


def _store(counts: MonthCounts) -> None:
    """Replace the month's rows, in the current write transaction."""
    db.session.execute(delete(StatsMonth).where(StatsMonth.month == counts.month))
    db.session.execute(delete(StatsDistribution).where(StatsDistribution.month == counts.month))
    if counts.rows:
        db.session.execute(insert(StatsMonth), counts.rows)
    if counts.distribution:
        db.session.execute(insert(StatsDistribution), counts.distribution)


def _refreshed(now: datetime) -> None:
    changed = cast(
        CursorResult[Any],
        db.session.execute(update(PublicState).where(PublicState.id == 1).values(stats_refreshed_at=now)),
    )
    if changed.rowcount == 0:  # a database made without migration 0022's row
        db.session.execute(insert(PublicState).values(id=1, version=0, changed_at=now, stats_refreshed_at=now))


def recount(month: date, marked_at: datetime | None = None) -> None:
    """Recount one month and store it; clear its dirty mark if still the one read (`marked_at`)."""
    with write_transaction():
        if db.session.get_bind().dialect.name == "postgresql":
            db.session.execute(_ROLLUP_LOCK)
        _store(count_month(month))
        if marked_at is not None:
            db.session.execute(
                delete(StatsDirtyMonth).where(StatsDirtyMonth.month == month, StatsDirtyMonth.marked_at == marked_at)
            )


def refresh() -> int:
    """Recount every month marked dirty; the number of months recounted."""
    marks = db.session.execute(
        select(StatsDirtyMonth.month, StatsDirtyMonth.marked_at).order_by(StatsDirtyMonth.month)
    ).all()
    for month, marked_at in marks:
        recount(month, marked_at)
    if marks:
        with write_transaction():
            _refreshed(datetime.now(UTC))
    return len(marks)


@huey.periodic_task(crontab(minute="*"))  # type: ignore[untyped-decorator]  # huey has no type information
@in_app_context
def refresh_rollups() -> int:
    return refresh()


def ensure() -> int:
    """Count every month once if the rollups were never counted: a database upgraded to migration
    0022 with views in it (`flask setup`, which `make run` calls). The months counted; 0 when the
    worker keeps them already (or there is nothing to count)."""
    refreshed = db.session.execute(select(PublicState.stats_refreshed_at)).scalar_one_or_none()
    return 0 if refreshed is not None else rebuild()


def rebuild() -> int:
    """Recount every month from scratch (`flask stats rebuild`); the number of months counted.
    Rows of months without views are dropped; marks read before counting are cleared."""
    marks = dict(db.session.execute(select(StatsDirtyMonth.month, StatsDirtyMonth.marked_at)).tuples().all())
    first, last = db.session.execute(select(func.min(Submission.created_at), func.max(Submission.created_at))).one()
    months: list[date] = []
    if first is not None:
        month, last_month = month_of(first), month_of(last)
        while month <= last_month:
            months.append(month)
            month = next_month(month)
    for month in months:
        recount(month, marks.get(month))
    with write_transaction():
        if months:
            outside = (StatsMonth.month < months[0]) | (StatsMonth.month > months[-1])
            db.session.execute(delete(StatsMonth).where(outside))
            db.session.execute(
                delete(StatsDistribution).where(
                    (StatsDistribution.month < months[0]) | (StatsDistribution.month > months[-1])
                )
            )
        else:
            db.session.execute(delete(StatsMonth))
            db.session.execute(delete(StatsDistribution))
        for month, marked_at in marks.items():
            if month not in months:
                db.session.execute(
                    delete(StatsDirtyMonth).where(
                        StatsDirtyMonth.month == month, StatsDirtyMonth.marked_at == marked_at
                    )
                )
        _refreshed(datetime.now(UTC))
    return len(months)
