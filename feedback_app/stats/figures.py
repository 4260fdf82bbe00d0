"""The figures of the public statistics page and the moderation report, for a period of months,
read from the rollup tables (models.StatsMonth, StatsDistribution), never by counting views.

Months are calendar months in Hong Kong time; a view belongs to the month it was received in,
and each figure says how the views received in the period stand now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select

from ..extensions import db
from ..kernel.models import StatsMonth


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


def statistics(chosen: Period) -> Statistics:
    raise NotImplementedError  # stats helper: replace


def moderation_report(chosen: Period) -> ModerationReport:
    raise NotImplementedError  # stats helper: replace
