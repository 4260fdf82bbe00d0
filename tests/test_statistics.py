"""The public statistics: rollups kept by the worker equal direct counts, and the figures read
from them (feedback_app/stats/)."""

from __future__ import annotations

from datetime import date

from feedback_app.stats import figures


def test_period_selector_names_twelve_months_years_and_all_time(app):
    today = date(2026, 3, 15)
    twelve = figures.period(None, today)
    assert (twelve.key, twelve.first, twelve.last) == ("12m", date(2025, 4, 1), date(2026, 3, 1))
    assert len(twelve.months) == 12
    assert figures.period("", today) == twelve
    year = figures.period("2025", today)
    assert (year.first, year.last) == (date(2025, 1, 1), date(2025, 12, 1))
    this_year = figures.period("2026", today)
    assert this_year.months == (date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1))
    everything = figures.period("all", today)
    assert everything.last == date(2026, 3, 1)
    for bad in ("2027", "1999", "12", "２０２５", "all ", "13m", "-2025"):
        assert figures.period(bad, today) is None, bad
    choices = figures.periods(today)
    assert choices[0] == twelve and choices[-1].key == "all"
