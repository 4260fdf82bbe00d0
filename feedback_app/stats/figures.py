"""The figures of the public statistics page and the moderation report, for a period of months,
read from the rollup tables (models.StatsMonth, StatsDistribution), never by counting views.

Months are calendar months in Hong Kong time; a view belongs to the month it was received in,
and each figure says how the views received in the period stand now.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select

from ..extensions import db
from ..kernel import catalogue, public
from ..kernel.models import RejectionReason, StatsDistribution, StatsMeasure, StatsMonth


@dataclass(frozen=True)
class Period:
    """A run of whole months chosen with the period selector."""

    key: str  # the selector's value: "12m" (the last twelve months, the default), "2026" (a year), "all"
    first: date  # the first day of its first month
    last: date  # the first day of its last month (included)

    @property
    def months(self) -> tuple[date, ...]:
        months, month = [], self.first
        while month <= self.last:
            months.append(month)
            month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
        return tuple(months)


@dataclass(frozen=True)
class Share:
    """A part of a whole, kept as counts so that a page can say "12 of 40" beside "30%"."""

    part: int
    whole: int

    @property
    def value(self) -> float | None:
        return self.part / self.whole if self.whole else None


@dataclass(frozen=True)
class Helped:
    """What senders said when asked "did this answer your point?"."""

    yes: int
    partly: int
    no: int

    @property
    def total(self) -> int:
        return self.yes + self.partly + self.no


@dataclass(frozen=True)
class Series:
    """One line of a by-month table: a smart area or a bureau ('' for views not routed yet)."""

    code: str
    per_month: tuple[int, ...]  # in the order of Statistics.months

    @property
    def total(self) -> int:
        return sum(self.per_month)


@dataclass(frozen=True)
class BureauFigures:
    """A bureau's figures over the period, for the views routed to it."""

    bureau_code: str
    received: int
    answered: Share  # answered of received
    median_days: float | None  # whole days from routing to the first answer, over answered views
    on_time: Share  # answered by the due date (the bureau's target), of answered
    routed_auto: Share  # routed without a moderator, of routed
    helped: Helped


@dataclass(frozen=True)
class Statistics:
    """The statistics page."""

    period: Period
    months: tuple[date, ...]
    received: int
    per_month: tuple[int, ...]  # views received, per month
    by_area: tuple[Series, ...]  # every smart area, in the catalogue's order, zeros included
    by_bureau: tuple[Series, ...]  # every bureau with a view in the period, most views first; '' last
    bureaus: tuple[BureauFigures, ...]  # the same bureaus, most views first ('' left out)
    answered: Share  # of the views routed to a bureau
    median_days: float | None
    on_time: Share
    routed_auto: Share
    routed_auto_per_month: tuple[Share, ...]
    helped: Helped
    refreshed_at: datetime | None  # when the rollups last took a change in (the page says so)


@dataclass(frozen=True)
class ReportMonth:
    """One month of the public moderation report (or the period's total)."""

    month: date | None  # None for the total
    received: int
    published: int
    hidden: int
    rejected: dict[str, int]  # per models.RejectionReason, every reason present (zeros included)
    personal_data: int  # views in which the masking found personal data
    campaigns: int  # campaigns whose first copy came in that month
    campaign_copies: int  # views that are copies in a campaign
    largest_campaign: int  # copies in its largest campaign (0: none)
    routed_auto: int
    routed_moderator: int
    overridden: int  # routed by a moderator elsewhere than the classifier predicted

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())


@dataclass(frozen=True)
class ModerationReport:
    period: Period
    months: tuple[ReportMonth, ...]  # newest first, every month of the period (zeros included)
    total: ReportMonth
    refreshed_at: datetime | None


# The first year the selector may name: the Blueprint 2.0 was published in December 2020, and a
# year before any view is a page of zeros, not an error. Later than `today`'s year is no period.
FIRST_YEAR = 2020
TWELVE_MONTHS = "12m"
ALL_TIME = "all"


def _month_of(day: date) -> date:
    return day.replace(day=1)


def _months_back(month: date, count: int) -> date:
    """The first day of the month `count` months before `month`."""
    index = month.year * 12 + month.month - 1 - count
    return date(index // 12, index % 12 + 1, 1)


def _first_month() -> date | None:
    """The earliest month with a view (bounded by the rollup's months x areas x bureaus)."""
    return db.session.execute(select(func.min(StatsMonth.month))).scalar_one_or_none()


def _years_with_views() -> list[int]:
    months = db.session.execute(select(StatsMonth.month).where(StatsMonth.received > 0).distinct()).scalars()
    return sorted({month.year for month in months}, reverse=True)


def periods(today: date) -> list[Period]:
    """The period selector's choices: the last twelve months (first), each calendar year that has
    views (newest first), and all time."""
    choices = [_twelve_months(today)]
    choices += [_year(year, today) for year in _years_with_views() if year <= today.year]
    choices.append(_all_time(today))
    return choices


def period(key: str | None, today: date) -> Period | None:
    """The period a selector value names (the default for None or ""); None for any other value."""
    if not key or key == TWELVE_MONTHS:
        return _twelve_months(today)
    if key == ALL_TIME:
        return _all_time(today)
    if len(key) == 4 and key.isascii() and key.isdigit() and FIRST_YEAR <= int(key) <= today.year:
        return _year(int(key), today)
    return None


def _twelve_months(today: date) -> Period:
    this_month = _month_of(today)
    return Period(TWELVE_MONTHS, _months_back(this_month, 11), this_month)


def _year(year: int, today: date) -> Period:
    # The current year stops at the current month: months still to come have no views to show.
    return Period(str(year), date(year, 1, 1), min(date(year, 12, 1), _month_of(today)))


def _all_time(today: date) -> Period:
    this_month = _month_of(today)
    first = _first_month()
    return Period(ALL_TIME, min(first, this_month) if first else this_month, this_month)


# --- Reading the rollups ---------------------------------------------------------------------
#
# Each query is grouped over the period's rows of the rollup tables: at most months x smart
# areas x bureaus rows are read, whatever the number of views.

NOT_ROUTED = ""


def _in(chosen: Period, month_column):
    return month_column.between(chosen.first, chosen.last)


def _sums(*columns):
    return [func.coalesce(func.sum(column), 0).label(column.key) for column in columns]


def _median(counts: dict[int, int]) -> float | None:
    """The median of values given with their counts (the middle one, or the mean of the two)."""
    total = sum(counts.values())
    if not total:
        return None
    lower, upper = (total - 1) // 2, total // 2  # the middle positions, counted from 0
    seen, found = 0, []
    for value in sorted(counts):
        later = seen + counts[value]
        found += [value] * sum(1 for position in (lower, upper) if seen <= position < later)
        seen = later
    return sum(found) / 2


def _answer_days(chosen: Period) -> dict[str, dict[int, int]]:
    rows = db.session.execute(
        select(StatsDistribution.bureau_code, StatsDistribution.value, func.sum(StatsDistribution.count))
        .where(_in(chosen, StatsDistribution.month), StatsDistribution.measure == StatsMeasure.ANSWER_DAYS)
        .group_by(StatsDistribution.bureau_code, StatsDistribution.value)
    )
    by_bureau: dict[str, dict[int, int]] = {}
    for bureau, value, count in rows:
        by_bureau.setdefault(bureau, {})[value] = int(count)
    return by_bureau


def _merged(distributions: Iterable[dict[int, int]]) -> dict[int, int]:
    merged: Counter[int] = Counter()
    for counts in distributions:
        merged.update(counts)
    return dict(merged)


def statistics(chosen: Period) -> Statistics:
    months = chosen.months
    position = {month: n for n, month in enumerate(months)}
    m = StatsMonth

    per_area: dict[str, list[int]] = {area.code: [0] * len(months) for area in catalogue.list_areas()}
    for month, area, received in db.session.execute(
        select(m.month, m.area_code, func.sum(m.received)).where(_in(chosen, m.month)).group_by(m.month, m.area_code)
    ):
        per_area.setdefault(area, [0] * len(months))[position[month]] += int(received)

    per_bureau: dict[str, list[int]] = {}
    auto_per_month = [0] * len(months)
    routed_per_month = [0] * len(months)
    for row in db.session.execute(
        select(m.month, m.bureau_code, *_sums(m.received, m.routed_auto, m.routed_moderator))
        .where(_in(chosen, m.month))
        .group_by(m.month, m.bureau_code)
    ):
        n = position[row.month]
        per_bureau.setdefault(row.bureau_code, [0] * len(months))[n] += int(row.received)
        auto_per_month[n] += int(row.routed_auto)
        routed_per_month[n] += int(row.routed_auto) + int(row.routed_moderator)

    days = _answer_days(chosen)
    bureaus = []
    for row in db.session.execute(
        select(
            m.bureau_code,
            *_sums(
                m.received,
                m.answered,
                m.answered_on_time,
                m.routed_auto,
                m.routed_moderator,
                m.helped_yes,
                m.helped_partly,
                m.helped_no,
            ),
        )
        .where(_in(chosen, m.month), m.bureau_code != NOT_ROUTED)
        .group_by(m.bureau_code)
    ):
        auto, routed = int(row.routed_auto), int(row.routed_auto) + int(row.routed_moderator)
        bureaus.append(
            BureauFigures(
                bureau_code=row.bureau_code,
                received=int(row.received),
                answered=Share(int(row.answered), int(row.received)),
                median_days=_median(days.get(row.bureau_code, {})),
                on_time=Share(int(row.answered_on_time), int(row.answered)),
                routed_auto=Share(auto, routed),
                helped=Helped(int(row.helped_yes), int(row.helped_partly), int(row.helped_no)),
            )
        )
    bureaus.sort(key=lambda b: (-b.received, b.bureau_code))
    order = {b.bureau_code: n for n, b in enumerate(bureaus)}
    by_bureau = sorted(
        (Series(code, tuple(counts)) for code, counts in per_bureau.items() if sum(counts)),
        key=lambda s: (s.code == NOT_ROUTED, order.get(s.code, len(order)), s.code),
    )

    return Statistics(
        period=chosen,
        months=months,
        received=sum(sum(counts) for counts in per_area.values()),
        per_month=tuple(sum(counts[n] for counts in per_area.values()) for n in range(len(months))),
        by_area=tuple(Series(code, tuple(counts)) for code, counts in per_area.items()),
        by_bureau=tuple(by_bureau),
        bureaus=tuple(bureaus),
        answered=Share(sum(b.answered.part for b in bureaus), sum(b.answered.whole for b in bureaus)),
        median_days=_median(_merged(counts for bureau, counts in days.items() if bureau != NOT_ROUTED)),
        on_time=Share(sum(b.on_time.part for b in bureaus), sum(b.on_time.whole for b in bureaus)),
        routed_auto=Share(sum(auto_per_month), sum(routed_per_month)),
        routed_auto_per_month=tuple(Share(a, r) for a, r in zip(auto_per_month, routed_per_month, strict=True)),
        helped=Helped(
            sum(b.helped.yes for b in bureaus), sum(b.helped.partly for b in bureaus), sum(b.helped.no for b in bureaus)
        ),
        refreshed_at=public.state().stats_refreshed_at,
    )


_REPORT_COUNTS = (
    "received",
    "published",
    "hidden",
    *(f"rejected_{reason.value}" for reason in RejectionReason),
    "personal_data",
    "routed_auto",
    "routed_moderator",
    "overridden",
    "in_campaign",
)


def _report_month(month: date | None, sums: dict[str, int], campaigns: tuple[int, int]) -> ReportMonth:
    return ReportMonth(
        month=month,
        received=sums["received"],
        published=sums["published"],
        hidden=sums["hidden"],
        rejected={reason.value: sums[f"rejected_{reason.value}"] for reason in RejectionReason},
        personal_data=sums["personal_data"],
        campaigns=campaigns[0],
        campaign_copies=sums["in_campaign"],
        largest_campaign=campaigns[1],
        routed_auto=sums["routed_auto"],
        routed_moderator=sums["routed_moderator"],
        overridden=sums["overridden"],
    )


def moderation_report(chosen: Period) -> ModerationReport:
    m = StatsMonth
    zero = dict.fromkeys(_REPORT_COUNTS, 0)
    sums: dict[date, dict[str, int]] = {}
    for row in db.session.execute(
        select(m.month, *_sums(*(getattr(m, name) for name in _REPORT_COUNTS)))
        .where(_in(chosen, m.month))
        .group_by(m.month)
    ):
        sums[row.month] = {name: int(getattr(row, name)) for name in _REPORT_COUNTS}
    d = StatsDistribution
    campaigns: dict[date, tuple[int, int]] = {
        month: (int(count), int(largest))
        for month, count, largest in db.session.execute(
            select(d.month, func.sum(d.count), func.max(d.value))
            .where(_in(chosen, d.month), d.measure == StatsMeasure.CAMPAIGN_SIZE)
            .group_by(d.month)
        )
    }
    months = tuple(
        _report_month(month, sums.get(month, zero), campaigns.get(month, (0, 0))) for month in reversed(chosen.months)
    )
    totals = {name: sum(sums.get(month, zero)[name] for month in chosen.months) for name in _REPORT_COUNTS}
    total_campaigns = (
        sum(count for count, _largest in campaigns.values()),
        max((largest for _count, largest in campaigns.values()), default=0),
    )
    return ModerationReport(
        period=chosen,
        months=months,
        total=_report_month(None, totals, total_campaigns),
        refreshed_at=public.state().stats_refreshed_at,
    )
