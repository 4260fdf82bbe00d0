"""A bureau's dashboard: its backlog by age and by officer, what is overdue, answers per week,
how long answers take and how many meet the target, and what the senders said of the answers
("did this answer your point?", per initiative too). One bureau's own views only (a joint view
counts for the bureau that owns it, `Submission.bureau_code`); read from the submissions, nothing
new is stored.

Cost at a million views: every statement starts from `bureau_code = :code`, so it reads one
bureau's rows through the inbox indexes (migration 0019), never the table. The backlog and the
overdue figures read only what awaits an answer (`ix_submission_bureau_status_due`: the overdue
count and list never leave that index's range of due dates); answers per week and the 90-day
figures read the bureau's views (`ix_submission_bureau_id`), since nothing indexes `answered_at`.
Counting is done in SQL; only the median is computed here (see `_answer_times`). The senders'
verdicts are one grouped count over `ix_answer_feedback_bureau_created` (bureau, date): a
bureau's answers of one quarter, a few thousand rows at most.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import ColumnElement, and_, case, func, or_, select

from ..extensions import db
from ..kernel import deadlines, workflow
from ..kernel.catalogue import InitiativeRef
from ..kernel.models import AnswerFeedback, Initiative, Role, Submission, User, Verdict

# The backlog's age bands, in Hong Kong working days since the view reached the bureau
# (`deadlines.working_days_between`): (first age not in the band, key); the last band is open.
# The default answer target is 10 working days, so the last band is what is due or late.
AGE_BANDS: tuple[tuple[int | None, str], ...] = (
    (2, "under_2"),
    (5, "2_to_4"),
    (10, "5_to_9"),
    (None, "10_or_more"),
)
WEEKS = 12
ANSWER_WINDOW = timedelta(days=90)
OVERDUE_LISTED = 20


@dataclass(frozen=True)
class Workload:
    officer_id: int | None  # None: nobody has been assigned yet
    name: str | None
    views: int


@dataclass(frozen=True)
class OverdueView:
    id: int
    reference: str
    due_at: datetime
    days_overdue: int  # Hong Kong calendar days since the due date (due at the end of its day)
    assignee: str | None


@dataclass(frozen=True)
class Verdicts:
    """How many senders said the answer to their view answered their point: yes, partly, no."""

    yes: int = 0
    partly: int = 0
    no: int = 0

    @property
    def total(self) -> int:
        return self.yes + self.partly + self.no

    def count(self, verdict: str) -> int:
        return int(getattr(self, Verdict(verdict).value))

    def share(self, verdict: str) -> float | None:
        """The verdict's part of all given (0 to 1), None when nobody said anything."""
        return self.count(verdict) / self.total if self.total else None

    def rows(self) -> list[tuple[str, int, float | None]]:
        """(verdict, count, share) in the order the question offers them."""
        return [(v.value, self.count(v), self.share(v)) for v in Verdict]


@dataclass(frozen=True)
class InitiativeVerdicts:
    initiative: InitiativeRef | None  # None: general views on a smart area
    verdicts: Verdicts


@dataclass(frozen=True)
class Dashboard:
    bureau_code: str
    now: datetime
    backlog_by_age: list[tuple[str, int]]  # (AGE_BANDS key, views awaiting an answer), youngest first
    backlog_by_officer: list[Workload]  # nobody yet first, then the officers, most views first
    overdue: int
    oldest_overdue: list[OverdueView]  # at most OVERDUE_LISTED, longest overdue first
    answered_per_week: list[tuple[date, int]]  # (Monday of the Hong Kong week, views), oldest first
    answered_recently: int  # views first answered in the last 90 days: the medians are over these
    median_days: float | None  # calendar days from routing to the first answer
    median_working_days: float | None
    judged: int  # views answered in the last 90 days that had a due date
    within_target: int  # of those, answered by their due date
    # "Did this answer your point?" given in the last 90 days, on the bureau's views: in all,
    # and per initiative (most answers first; general views last).
    verdicts: Verdicts = Verdicts()
    verdicts_by_initiative: tuple[InitiativeVerdicts, ...] = ()

    @property
    def awaiting(self) -> int:
        return sum(count for _, count in self.backlog_by_age)

    @property
    def within_target_share(self) -> float | None:
        return self.within_target / self.judged if self.judged else None

    @property
    def answered_in_weeks(self) -> int:
        return sum(count for _, count in self.answered_per_week)


def _hk_date(moment: datetime) -> date:
    return moment.astimezone(deadlines.HONG_KONG).date()


def _hk_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=deadlines.HONG_KONG).astimezone(UTC)


def age_cutoff(now: datetime, working_days: int) -> datetime:
    """The moment a view must have reached the bureau after (or at) to be under `working_days`
    old, in `deadlines.working_days_between` terms: its age is the working days after its Hong
    Kong routing date up to today. Walk back from today until that many working days lie behind;
    a view routed on that day or earlier is at least that old."""
    day = _hk_date(now)
    behind = 0
    while behind < working_days:
        if deadlines.is_working_day(day):
            behind += 1
        day -= timedelta(days=1)
    return _hk_midnight(day + timedelta(days=1))


def _awaiting(code: str) -> ColumnElement[bool]:
    return and_(Submission.bureau_code == code, Submission.status.in_(workflow.AWAITING_ANSWER))


def _backlog(code: str, now: datetime) -> tuple[list[tuple[str, int]], list[Workload]]:
    """Both backlog figures from one grouped count: (age band, officer)."""
    band = case(
        *[(Submission.routed_at >= age_cutoff(now, bound), key) for bound, key in AGE_BANDS if bound is not None],
        else_=AGE_BANDS[-1][1],
    ).label("band")
    rows = db.session.execute(
        select(band, Submission.assigned_to_id, func.count())
        .where(_awaiting(code))
        .group_by(band, Submission.assigned_to_id)
    ).all()
    by_age: dict[str, int] = {}
    by_officer: dict[int | None, int] = {}
    for key, officer_id, count in rows:
        by_age[key] = by_age.get(key, 0) + count
        by_officer[officer_id] = by_officer.get(officer_id, 0) + count
    # Every active officer of the bureau is listed, with none too: who has room is a figure.
    officers = db.session.execute(
        select(User.id, User.display_name).where(
            or_(
                and_(User.bureau_code == code, User.role == Role.OFFICER, User.active),
                User.id.in_([officer for officer in by_officer if officer is not None]),
            )
        )
    ).all()
    workload = sorted(
        (Workload(officer_id, name, by_officer.get(officer_id, 0)) for officer_id, name in officers),
        key=lambda w: (-w.views, (w.name or "").casefold(), w.officer_id or 0),
    )
    return (
        [(key, by_age.get(key, 0)) for _, key in AGE_BANDS],
        [Workload(None, None, by_officer.get(None, 0)), *workload],
    )


def _overdue(code: str, now: datetime) -> tuple[int, list[OverdueView]]:
    count = db.session.execute(select(func.count()).where(_awaiting(code), Submission.due_at < now)).scalar_one()
    # One short read per state, each in the order of ix_submission_bureau_status_due (bureau,
    # status, due date), merged here: "status IN (...) ORDER BY due_at" would sort every
    # overdue view of the bureau to keep twenty.
    oldest: list[tuple[datetime, int, str, str | None]] = []
    for status in workflow.AWAITING_ANSWER:
        rows = db.session.execute(
            select(Submission.due_at, Submission.id, Submission.reference, User.display_name)
            .outerjoin(User, User.id == Submission.assigned_to_id)
            .where(Submission.bureau_code == code, Submission.status == status, Submission.due_at < now)
            .order_by(Submission.due_at, Submission.id)
            .limit(OVERDUE_LISTED)
        ).tuples()
        oldest += [(due, sub_id, reference, name) for due, sub_id, reference, name in rows if due is not None]
    oldest.sort(key=lambda row: (row[0], row[1]))
    today = _hk_date(now)
    return count, [
        OverdueView(sub_id, reference, due, (today - _hk_date(due)).days, name)
        for due, sub_id, reference, name in oldest[:OVERDUE_LISTED]
    ]


def week_starts(now: datetime, weeks: int = WEEKS) -> list[date]:
    """The Mondays of the last `weeks` Hong Kong weeks, the current one last."""
    today = _hk_date(now)
    monday = today - timedelta(days=today.weekday())
    return [monday - timedelta(weeks=n) for n in reversed(range(weeks))]


def _answered_per_week(code: str, now: datetime) -> list[tuple[date, int]]:
    mondays = week_starts(now)
    starts = [_hk_midnight(monday) for monday in mondays]
    week = case(
        *[(Submission.answered_at >= start, n) for n, start in reversed(list(enumerate(starts)))],
        else_=-1,
    ).label("week")
    counts = dict(
        db.session.execute(
            select(week, func.count())
            .where(Submission.bureau_code == code, Submission.answered_at >= starts[0], Submission.answered_at <= now)
            .group_by(week)
        )
        .tuples()
        .all()
    )
    return [(monday, counts.get(n, 0)) for n, monday in enumerate(mondays)]


def _answered_recently(code: str, now: datetime) -> ColumnElement[bool]:
    return and_(
        Submission.bureau_code == code,
        Submission.answered_at >= now - ANSWER_WINDOW,
        Submission.answered_at <= now,
        Submission.routed_at.is_not(None),
    )


def _answer_times(code: str, now: datetime) -> list[tuple[datetime, datetime]]:
    """(routed, first answered) of the views first answered in the last 90 days. Fetched rather
    than aggregated: working days need Hong Kong's holiday calendar, which neither database has,
    and a median is not portable SQL (PostgreSQL's percentile_cont, nothing in SQLite). The rows
    are one bureau's answers of one quarter: a bureau answering 2,300 views a month (issue 17's
    busy bureau) fetches about 7,000 pairs of timestamps, a few hundred kilobytes. Measured on
    PostgreSQL, a million views, 50,000 of them one bureau's: the statement takes 12 ms to find
    5,764 pairs, and the whole dashboard 90 to 260 ms on a busy two-core machine."""
    rows = db.session.execute(
        select(Submission.routed_at, Submission.answered_at).where(_answered_recently(code, now))
    ).tuples()
    return [(routed, answered) for routed, answered in rows if routed is not None and answered is not None]


def _median(values: Sequence[float]) -> float | None:
    return float(statistics.median(values)) if values else None


def _within_target(code: str, now: datetime) -> tuple[int, int]:
    judged, within = db.session.execute(
        select(func.count(), func.count(case((Submission.answered_at <= Submission.due_at, 1)))).where(
            _answered_recently(code, now), Submission.due_at.is_not(None)
        )
    ).one()
    return judged, within


FEEDBACK_WINDOW = ANSWER_WINDOW


def _verdicts(code: str, now: datetime) -> tuple[Verdicts, tuple[InitiativeVerdicts, ...]]:
    """The senders' verdicts given in the last 90 days on the bureau's views, in all and per
    initiative: one grouped count (initiative, verdict)."""
    rows = db.session.execute(
        select(AnswerFeedback.initiative_id, AnswerFeedback.verdict, func.count())
        .where(
            AnswerFeedback.bureau_code == code,
            AnswerFeedback.created_at >= now - FEEDBACK_WINDOW,
            AnswerFeedback.created_at <= now,
        )
        .group_by(AnswerFeedback.initiative_id, AnswerFeedback.verdict)
    ).tuples()
    counts: dict[int | None, dict[str, int]] = {}
    for initiative_id, verdict, count in rows:
        counts.setdefault(initiative_id, {})[verdict] = count
    initiatives = {
        row.id: InitiativeRef(row.id, row.code, row.area_code, row.title_en, row.title_zh)
        for row in db.session.execute(
            select(
                Initiative.id, Initiative.code, Initiative.area_code, Initiative.title_en, Initiative.title_zh
            ).where(Initiative.id.in_([i for i in counts if i is not None]))
        )
    }
    per_initiative = [
        InitiativeVerdicts(initiatives.get(initiative_id) if initiative_id is not None else None, Verdicts(**by))
        for initiative_id, by in counts.items()
    ]
    per_initiative.sort(
        key=lambda row: (row.initiative is None, -row.verdicts.total, row.initiative.code if row.initiative else "")
    )
    overall = Verdicts(**{v.value: sum(by.get(v.value, 0) for by in counts.values()) for v in Verdict})
    return overall, tuple(per_initiative)


def build(code: str, now: datetime | None = None) -> Dashboard:
    """The dashboard of bureau `code` as at `now` (default: this moment)."""
    now = now or datetime.now(UTC)
    by_age, by_officer = _backlog(code, now)
    overdue, oldest = _overdue(code, now)
    times = _answer_times(code, now)
    working: dict[tuple[date, date], int] = {}  # many answers share their two days
    working_days = []
    for routed, answered in times:
        days = (_hk_date(routed), _hk_date(answered))
        if days not in working:
            working[days] = deadlines.working_days_between(routed, answered)
        working_days.append(working[days])
    judged, within = _within_target(code, now)
    verdicts, verdicts_by_initiative = _verdicts(code, now)
    return Dashboard(
        bureau_code=code,
        now=now,
        backlog_by_age=by_age,
        backlog_by_officer=by_officer,
        overdue=overdue,
        oldest_overdue=oldest,
        answered_per_week=_answered_per_week(code, now),
        answered_recently=len(times),
        median_days=_median([(answered - routed) / timedelta(days=1) for routed, answered in times]),
        median_working_days=_median(working_days),
        judged=judged,
        within_target=within,
        verdicts=verdicts,
        verdicts_by_initiative=verdicts_by_initiative,
    )
