"""Filters and globals every template can use."""

from flask import Flask, g

from ..kernel import catalogue, workflow
from ..kernel.models import TrainingStatus
from ..text import abuse
from ..text.redaction import published_text
from . import i18n


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


def register(app: Flask) -> None:
    app.jinja_env.filters["loc"] = i18n.localized
    # Staff pages preview a view's published text with this filter. Public pages have no filter
    # to remember: they read the public projection's objects, whose text is already masked.
    app.jinja_env.filters["published_text"] = published_text
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
    )
