"""The public statistics page and the moderation report.

Both read only the statistics' figures (stats/figures.py, from the rollup tables), never views,
and are served from the public pages' cache keyed on when the rollups last took a change in.
The period comes from a GET form (`period`); a value that names no period is answered with the
default period's page, a notice saying so and a 404 status, so a mistyped link still helps.
"""

from __future__ import annotations

from datetime import date, datetime

from babel.dates import format_skeleton
from flask import render_template, request
from flask_babel import format_decimal, get_locale

from ..kernel.deadlines import HONG_KONG
from ..stats import figures
from ..web import charts
from ..web.public_cache import public_page
from . import bp

# The chart geometry, for every template that draws a chart (the moderation dashboard too).
bp.add_app_template_global(charts.column_chart, "chart_columns")
bp.add_app_template_global(charts.bar_chart, "chart_bars")
bp.add_app_template_global(charts.stacked_bar, "chart_stacked")


@bp.app_template_filter("month_label")
def month_label(month: date, skeleton: str = "yMMM") -> str:
    """A month as the reader's language writes it: "Jan 2026", "2026年1月" ("MMM": "Jan", "1月")."""
    return format_skeleton(skeleton, month, locale=get_locale())


@bp.app_template_filter("grouped")
def grouped(number: int) -> str:
    """A count with its thousands grouped: "12,345". English and both Chinese scripts group by
    threes with a comma (Babel's own symbols, held by a test), and a page of figures formats
    hundreds of numbers: this costs a tenth of `numberformat`, which looks the symbols up each time."""
    return f"{number:,}"


@bp.app_template_filter("stats_pct")
def share_percent(share: figures.Share) -> str:
    """A share as a whole percentage, "—" for a share of nothing (never a made-up 0%)."""
    return "—" if share.value is None else f"{round(100 * share.value)}%"


@bp.app_template_filter("stats_days")
def days(value: float | None) -> str:
    return "—" if value is None else format_decimal(value, "#,##0.#")


def _period() -> tuple[figures.Period, list[figures.Period], bool]:
    """The chosen period, the selector's choices, and whether the value asked for was unknown."""
    today = datetime.now(HONG_KONG).date()
    asked = request.args.get("period", "")
    chosen = figures.period(asked, today)
    unknown = chosen is None
    return chosen or figures.period(None, today), figures.periods(today), unknown  # type: ignore[return-value]


@bp.get("/statistics")
@public_page(on="stats")
def statistics():
    chosen, choices, unknown = _period()
    page = render_template(
        "public/statistics.html",
        stats=figures.statistics(chosen),
        periods=choices,
        unknown_period=unknown,
    )
    return page, 404 if unknown else 200


@bp.get("/statistics/moderation")
@public_page(on="stats")
def moderation_report():
    chosen, choices, unknown = _period()
    page = render_template(
        "public/moderation_report.html",
        report=figures.moderation_report(chosen),
        periods=choices,
        unknown_period=unknown,
    )
    return page, 404 if unknown else 200
