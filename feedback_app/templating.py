"""Filters and globals every template can use."""
from flask import Flask

from . import i18n
from .redaction import redact


def register(app: Flask) -> None:
    app.jinja_env.filters["loc"] = i18n.localized
    # Published text is always shown through this filter, so personal data never reaches the page.
    app.jinja_env.filters["redact"] = redact
    app.jinja_env.globals.update(
        LANGUAGE_NAMES=i18n.LANGUAGE_NAMES,
        STATUS_LABELS=i18n.STATUS_LABELS,
        VISIBILITY_LABELS=i18n.VISIBILITY_LABELS,
        REJECTION_LABELS=i18n.REJECTION_LABELS,
        INITIATIVE_STATUS_LABELS=i18n.INITIATIVE_STATUS_LABELS,
        ACTION_LABELS=i18n.ACTION_LABELS,
        AUDIT_FIELD_LABELS=i18n.AUDIT_FIELD_LABELS,
        ROLE_LABELS=i18n.ROLE_LABELS,
        SYSTEM_REASON_LABELS=i18n.SYSTEM_REASON_LABELS,
        current_locale=i18n.current_locale,
        html_lang=i18n.html_lang,
    )
