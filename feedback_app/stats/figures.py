"""The figures of the public statistics page and the moderation report, for a period of months,
read from the rollup tables (models.StatsMonth, StatsDistribution), never by counting views.

Months are calendar months in Hong Kong time; a view belongs to the month it was received in,
and each figure says how the views received in the period stand now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


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


def periods(today: date) -> list[Period]:
    """The period selector's choices: the last twelve months (first), each calendar year that has
    views (newest first), and all time."""
    raise NotImplementedError  # stats helper: replace


def period(key: str | None, today: date) -> Period | None:
    """The period a selector value names (the default for None or ""); None for any other value."""
    raise NotImplementedError  # stats helper: replace


def statistics(chosen: Period) -> Statistics:
    raise NotImplementedError  # stats helper: replace


def moderation_report(chosen: Period) -> ModerationReport:
    raise NotImplementedError  # stats helper: replace
