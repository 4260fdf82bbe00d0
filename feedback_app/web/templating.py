"""Filters and globals every template can use."""

from datetime import date
from typing import Protocol

from babel.dates import format_skeleton
from flask import Flask, g
from flask_babel import format_decimal, get_locale

from ..kernel import catalogue, workflow
from ..kernel.models import TrainingStatus
from ..text import abuse
from ..text.redaction import published_text
from . import charts, i18n


def _names(kind: str) -> dict[str, str]:
    """Localised names of every smart area or bureau by code, read once per request."""
    cache = g.setdefault("reference_names", {})
    if kind == "initiative" and kind not in cache:
        cache[kind] = {ref.id: i18n.localized(ref, "title") for ref in catalogue.initiative_refs().values()}
    if kind not in cache:
        rows = catalogue.list_areas() if kind == "area" else catalogue.list_bureaus()
        cache[kind] = {row.code: i18n.localized(row, "name") for row in rows}
    return cache[kind]


def reference_name(kind: str, code: str | int | None) -> str | None:
    """A smart area's or bureau's name (by code) or an initiative's title (by id) for staff
    pages, which never show raw codes."""
    if code is None:
        return None
    return _names(kind).get(code, code)


def month_label(month: date, skeleton: str = "yMMM") -> str:
    """A month as the reader's language writes it: "Jan 2026", "2026年1月" ("MMM": "Jan", "1月")."""
    return format_skeleton(skeleton, month, locale=get_locale())


def grouped(number: int) -> str:
    """A count with its thousands grouped: "12,345". English and both Chinese scripts group by
    threes with a comma (Babel's own symbols, held by a test), and a page of figures formats
    hundreds of numbers: this costs a tenth of `numberformat`, which looks the symbols up each time."""
    return f"{number:,}"


class _Share(Protocol):
    @property
    def value(self) -> float | None: ...


def share_percent(share: _Share) -> str:
    """A share (stats.figures.Share) as a whole percentage, "—" for a share of nothing (never a
    made-up 0%)."""
    return "—" if share.value is None else f"{round(100 * share.value)}%"


def days(value: float | None) -> str:
    return "—" if value is None else format_decimal(value, "#,##0.#")


def register(app: Flask) -> None:
    app.jinja_env.filters["loc"] = i18n.localized
    # Staff pages preview a view's published text with this filter. Public pages have no filter
    # to remember: they read the public projection's objects, whose text is already masked.
    app.jinja_env.filters["published_text"] = published_text
    # Figures and the charts drawn on the server (web/charts.py, templates/_charts.html).
    app.jinja_env.filters.update(month_label=month_label, grouped=grouped, stats_pct=share_percent, stats_days=days)
    app.jinja_env.globals.update(
        # The workflow's named sets of states, asked by templates as by queries.
        AWAITING_REVIEW=workflow.AWAITING_REVIEW,
        WITH_A_BUREAU=workflow.WITH_A_BUREAU,
        AWAITING_ANSWER=workflow.AWAITING_ANSWER,
        LANGUAGE_NAMES=i18n.LANGUAGE_NAMES,
        STATUS_LABELS=i18n.STATUS_LABELS,
        VISIBILITY_LABELS=i18n.VISIBILITY_LABELS,
        DECISION_LABELS=i18n.DECISION_LABELS,
        FLAG_LABELS=i18n.FLAG_LABELS,
        PERSONAL_DATA_LABELS=i18n.PERSONAL_DATA_LABELS,
        SORT_LABELS=i18n.SORT_LABELS,
        BACKLOG_AGE_LABELS=i18n.BACKLOG_AGE_LABELS,
        flag_codes=abuse.parse,
        REJECTION_LABELS=i18n.REJECTION_LABELS,
        REJECTION_EXPLANATIONS=i18n.REJECTION_EXPLANATIONS,
        INITIATIVE_STATUS_LABELS=i18n.INITIATIVE_STATUS_LABELS,
        ACTION_LABELS=i18n.ACTION_LABELS,
        AUDIT_FIELD_LABELS=i18n.AUDIT_FIELD_LABELS,
        ROLE_LABELS=i18n.ROLE_LABELS,
        SYSTEM_REASON_LABELS=i18n.SYSTEM_REASON_LABELS,
        TRAINING_STATUS_LABELS=i18n.TRAINING_STATUS_LABELS,
        TrainingStatus=TrainingStatus,
        TRAINING_STEP_LABELS=i18n.TRAINING_STEP_LABELS,
        TRAINING_ERROR_LABELS=i18n.TRAINING_ERROR_LABELS,
        current_locale=i18n.current_locale,
        html_lang=i18n.html_lang,
        reference_name=reference_name,
        chart_columns=charts.column_chart,
        chart_bars=charts.bar_chart,
        chart_stacked=charts.stacked_bar,
    )
