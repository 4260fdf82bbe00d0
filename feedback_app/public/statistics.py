"""The public statistics page and the moderation report.

Both read only the statistics' figures (stats/figures.py, from the rollup tables), never views,
and are served from the public pages' cache keyed on when the rollups last took a change in.
The period comes from a GET form (`period`); a value that names no period is answered with the
default period's page, a notice saying so and a 404 status, so a mistyped link still helps.
"""

from __future__ import annotations

from datetime import datetime

from flask import render_template, request

from ..kernel.deadlines import HONG_KONG
from ..stats import figures
from ..web.public_cache import public_page
from . import bp


def _period() -> tuple[figures.Period, list[figures.Period], bool]:
    """The chosen period, the selector's choices, and whether the value asked for was unknown."""
    today = datetime.now(HONG_KONG).date()
    asked = request.args.get("period", "")
    chosen = figures.period(asked, today)
    unknown = chosen is None
    return chosen or figures.period(None, today), figures.periods(today), unknown  # type: ignore[return-value]


def _period_page(template: str, figures_for, name: str):
    """A page of figures for the period asked: a 404 (showing the default period, with a notice)
    when the value names no period."""
    chosen, choices, unknown = _period()
    page = render_template(template, **{name: figures_for(chosen)}, periods=choices, unknown_period=unknown)
    return page, 404 if unknown else 200


@bp.get("/statistics")
@public_page(on="stats")
def statistics():
    return _period_page("public/statistics.html", figures.statistics, "stats")


@bp.get("/statistics/moderation")
@public_page(on="stats")
def moderation_report():
    return _period_page("public/moderation_report.html", figures.moderation_report, "report")
