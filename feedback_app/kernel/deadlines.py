"""When a bureau's answer is due: a number of Hong Kong working days after the view reached it.

Working days are Monday to Friday except Hong Kong's general holidays (the `holidays` package's
calendar, kept in code, so nothing is fetched). A view that arrives on a working day counts from
the next one, as a letter received today is answered "within ten working days"; the answer is due
at the end of the last day, Hong Kong time.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

HONG_KONG = ZoneInfo("Asia/Hong_Kong")
DEFAULT_TARGET_DAYS = 10
# An admin may set a target between these (bureau.answer_target_days).
TARGET_DAYS_RANGE = (1, 60)


@lru_cache(maxsize=64)
def _holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("HK", years=year))


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _holidays(day.year)


def add_working_days(start: date, days: int) -> date:
    """The `days`-th working day after `start` (start itself never counts)."""
    day = start
    remaining = days
    while remaining > 0:
        day += timedelta(days=1)
        if is_working_day(day):
            remaining -= 1
    return day


def due_at(routed_at: datetime, target_days: int) -> datetime:
    """The end (23:59:59 Hong Kong time) of the `target_days`-th working day after routing, in UTC."""
    local_day = routed_at.astimezone(HONG_KONG).date()
    last_day = add_working_days(local_day, target_days)
    end = datetime.combine(last_day, time(23, 59, 59), tzinfo=HONG_KONG)
    return end.astimezone(UTC)


def working_days_between(start: datetime, end: datetime) -> int:
    """Working days after `start`'s Hong Kong date up to and including `end`'s (0 if end is earlier)."""
    first = start.astimezone(HONG_KONG).date()
    last = end.astimezone(HONG_KONG).date()
    count = 0
    day = first
    while day < last:
        day += timedelta(days=1)
        if is_working_day(day):
            count += 1
    return count
