"""Language choice and bilingual display helpers."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from flask import current_app, request
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from ..kernel.models import TrainingStatus
from ..text.chinese import collation_key, to_simplified

T = TypeVar("T")

LANGUAGE_COOKIE = "lang"
LANGUAGE_NAMES = {"en": "English", "zh_Hant": "繁體中文", "zh_Hans": "简体中文"}
# BCP 47 tags for the lang attribute: the script matters to screen readers and fonts.
HTML_LANG = {"en": "en", "zh_Hant": "zh-Hant-HK", "zh_Hans": "zh-Hans"}

STATUS_LABELS = {
    "received": _l("Received"),
    "needs_review": _l("Waiting for review"),
    "routed": _l("Sent to bureau"),
    "in_progress": _l("Being worked on"),
    "answered": _l("Answered"),
    "rejected": _l("Not accepted"),
    "closed": _l("Closed"),
}
VISIBILITY_LABELS = {
    "pending": _l("Not yet published"),
    "published": _l("Published"),
    "hidden": _l("Hidden"),
}
# The decisions staff take on a view (workflow.Action), as their forms are headed.
DECISION_LABELS = {
    "route": _l("Route"),
    "reject": _l("Reject"),
    "reopen": _l("Reopen"),
    "publish": _l("Publish"),
    "hide": _l("Hide"),
    "edit_public_text": _l("Published text"),
    "answer": _l("Answer publicly"),
    "send_back": _l("Not for your bureau?"),
    "close": _l("Close"),
    "assign": _l("Assign"),
    "note": _l("Internal note"),
    "invite": _l("Answer jointly with another bureau"),
    "answer_part": _l("Your bureau's part of the answer"),
    "reopen_closed": _l("Reopen"),
}
REJECTION_LABELS = {
    "spam": _l("Spam"),
    "abusive": _l("Abusive"),
    "off_topic": _l("Off-topic"),
    "duplicate": _l("Duplicate"),
}
# Why a view was not accepted, in plain words for its sender (the tracking page, the mail).
REJECTION_EXPLANATIONS = {
    "spam": _l("It looked like advertising or a message sent by a program, not a view on the Blueprint."),
    "abusive": _l("It contained abusive or threatening language, which this platform does not pass on."),
    "off_topic": _l(
        "It was not about the Smart City Blueprint or a public service it covers, so no bureau can answer it here."
    ),
    "duplicate": _l("The same view had already been sent; the earlier one is followed up instead."),
}
# The mail outbox's kinds of message and its states (the administrators' outbox page).
MAIL_KIND_LABELS = {
    "receipt": _l("Receipt of a view"),
    "routed": _l("View routed to a bureau"),
    "rerouted": _l("View routed to another bureau"),
    "sent_back": _l("View sent back by its bureau"),
    "answered": _l("View answered"),
    "closed": _l("View closed"),
    "rejected": _l("View not accepted"),
    "link_recovery": _l("Lost tracking link"),
    "account_verification": _l("Account address to confirm"),
    "digest": _l("Weekly digest"),
}
OUTBOX_STATUS_LABELS = {
    "pending": _l("Waiting"),
    "sending": _l("Being sent"),
    "sent": _l("Sent"),
    "failed": _l("Failed"),
}
# "Did this answer your point?" (models.Verdict), as the sender chooses and the bureau reads it.
VERDICT_LABELS = {
    "yes": _l("Yes"),
    "partly": _l("Partly"),
    "no": _l("No"),
}
INITIATIVE_STATUS_LABELS = {
    "listed": _l("In the Blueprint"),
    "in_service": _l("In service"),
    "ended": _l("Ended"),
}
ROLE_LABELS = {
    "resident": _l("resident"),
    "moderator": _l("moderator"),
    "officer": _l("bureau officer"),
    "admin": _l("administrator"),
}
# Reasons the system itself records (routing.decide); stored in English, shown translated.
SYSTEM_REASON_LABELS = {
    "contains personal data": _l("contains personal data"),
    # Recorded before routing went by the bureau alone; kept so older history still reads.
    "smart area uncertain": _l("smart area uncertain"),
    "bureau uncertain": _l("bureau uncertain"),
    "no bureau seems to own it": _l("no bureau seems to own it"),
    "flagged for a moderator": _l("flagged for a moderator"),
    "published with its answer": _l("published with its answer"),
}
# How long views have waited for review (moderation.dashboard.AGE_BANDS).
BACKLOG_AGE_LABELS = {
    "hour": _l("Under an hour"),
    "day": _l("1 hour to 1 day"),
    "three_days": _l("1 to 3 days"),
    "week": _l("3 to 7 days"),
    "older": _l("Over a week"),
}
# What the automatic masking recognises (redaction.PLACEHOLDERS), as staff read it.
PERSONAL_DATA_LABELS = {
    "hkid": _l("an identity card number"),
    "phone": _l("a phone number"),
    "email": _l("an e-mail address"),
    "url": _l("a personal link"),
    "address": _l("an address"),
    "card": _l("a payment card number"),
    "passport": _l("a passport number"),
    "name": _l("a name"),
    "birth_date": _l("a date of birth"),
    "bank_account": _l("a bank account number"),
    "id_card": _l("a Mainland identity card number"),
}
# Why a view was flagged (abuse.Flag), as staff read it.
FLAG_LABELS = {
    "abusive_language": _l("Abusive language"),
    "link_spam": _l("Links, like spam"),
    "gibberish": _l("Looks like gibberish"),
    "repeated_posting": _l("Many views from one network address"),
}
# How sure the classifier was of the bureau (triage.Band).
BAND_LABELS = {
    "low": _l("Low (under 50%)"),
    "medium": _l("Medium (50–80%)"),
    "high": _l("High (at least 80%)"),
}
# The review queue's orders (moderation.queue.Sort).
SORT_LABELS = {
    "priority": _l("Most in need first: flagged, then least sure, then oldest"),
    "age": _l("Oldest first"),
    "confidence": _l("Least sure first"),
}
# Decisions on several views at once (moderation.bulk.Kind).
BULK_LABELS = {
    "route_suggested": _l("Route each to the bureau suggested for it"),
    "route": _l("Route all to one bureau"),
    "reject": _l("Reject all"),
}
# A retraining run as the admin page shows it (routing.versions.TRAINING_STEPS for the steps).
TRAINING_STATUS_LABELS = {
    TrainingStatus.QUEUED: _l("Waiting for the worker"),
    TrainingStatus.RUNNING: _l("Running"),
    TrainingStatus.DONE: _l("Finished"),
    TrainingStatus.FAILED: _l("Failed"),
}
# Errors a run records in English (model_versions), shown translated; any other is shown as is.
TRAINING_ERROR_LABELS = {
    "stopped: no result within the time allowed (was the worker restarted?)": _l(
        "Stopped: no result within the time allowed (was the worker restarted?)"
    ),
    "the task queue could not be reached; try again later": _l("The task queue could not be reached; try again later."),
}
TRAINING_STEP_LABELS = {
    "examples": _l("Reading the corpus and moderators' decisions"),
    "training": _l("Training (about a minute)"),
    "gate": _l("Comparing with the active version"),
    "stored": _l("Stored"),
}
# What an audit event's before → after shows, field by field.
AUDIT_FIELD_LABELS = {
    "status": _l("Status"),
    "visibility": _l("Publication"),
    "area": _l("Smart area"),
    "bureau": _l("Bureau"),
    "rejection_reason": _l("Why not accepted"),
    "public_text": _l("Published text"),
    "not_personal": _l("Published as typed (not personal data)"),
    "campaign": _l("Campaign"),
}
ACTION_LABELS = {
    "submitted": _l("View received"),
    "auto_routed": _l("Sent to the responsible bureau"),
    "queued_for_review": _l("Waiting for a moderator to check it"),
    "classification_failed": _l("Waiting for a moderator to check it"),
    "route_confirmed": _l("Route confirmed by a moderator"),
    "route_changed": _l("Sent to a different bureau by a moderator"),
    "rejected": _l("Not accepted by a moderator"),
    "visibility_published": _l("Published"),
    "visibility_hidden": _l("Hidden from the public"),
    "answered": _l("Answered by the bureau"),
    "sent_back": _l("Returned for re-routing"),
    "closed": _l("Closed"),
    "reopened": _l("Reopened for review"),
    "public_text_edited": _l("Published text edited by a moderator"),
    "not_personal_marked": _l("Masking corrected by a moderator"),
    "joined_campaign": _l("Grouped with near copies of the same text"),
    "split_from_campaign": _l("Taken out of its campaign by a moderator"),
    "assigned": _l("Assigned to an officer"),
    "note_added": _l("Internal note added"),
    "joint_invited": _l("A second bureau invited to answer jointly"),
    "bureau_reopened": _l("Reopened by the bureau"),
    # A bureau's settings and exports
    "answer_template_saved": _l("Answer template saved"),
    "answer_template_deleted": _l("Answer template deleted"),
    "answer_target_changed": _l("Answer target changed"),
    "official_contacts_changed": _l("Official contacts changed"),
    "bureau_exported": _l("Views exported"),
    # Changes to accounts, shown in an account's history on the admin pages.
    "account_created": _l("Account created"),
    "password_changed": _l("New password set"),
    "role_changed": _l("Role changed"),
    "account_deactivated": _l("Account deactivated"),
    "account_reactivated": _l("Account reactivated"),
    "two_factor_enabled": _l("Two-step sign-in turned on"),
    "two_factor_disabled": _l("Two-step sign-in turned off"),
    "two_factor_reset": _l("Two-step sign-in reset by an administrator"),
    "enrolment_link_issued": _l("Enrolment link issued"),
    "enrolment_link_used": _l("Enrolment link used to set up two-step sign-in"),
    # Classifier versions, shown on the admin's classifier page.
    "classifier_trained": _l("Version trained"),
    "classifier_activated": _l("Version made active"),
    "classifier_rolled_back": _l("Rolled back to an earlier version"),
    "two_factor_recovery_code_used": _l("A recovery code was used to sign in"),
    # Residents, their mail and their accounts
    "mail_confirmed": _l("Updates by e-mail confirmed by the sender"),
    "answer_feedback_given": _l("The sender said whether the answer helped"),
    "view_attached": _l("Added to the sender's account"),
    "account_signed_up": _l("Account opened by its owner"),
    "email_verified": _l("E-mail address confirmed"),
    "account_data_exported": _l("The owner downloaded their data"),
    "account_deleted": _l("Account deleted by its owner"),
    "mail_retried": _l("A failed e-mail sent again by an administrator"),
}


def remember_language(response, code: str) -> None:
    """Keep the reader's choice of language on this device for a year.

    Secure like the session cookie (SESSION_COOKIE_SECURE, on behind HTTPS): a cookie a page
    over plain HTTP could set or read is one an attacker on the network could too."""
    response.set_cookie(
        LANGUAGE_COOKIE,
        code,
        max_age=365 * 24 * 3600,
        samesite="Lax",
        httponly=True,
        secure=current_app.config["SESSION_COOKIE_SECURE"],
    )


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    if chosen in languages:
        return chosen
    # Browsers send zh-CN / zh-SG / zh-Hans for Simplified; zh-HK / zh-TW / plain zh read
    # Traditional Chinese here, as most of Hong Kong does.
    best = request.accept_languages.best_match(["en", "zh-HK", "zh-TW", "zh-Hant", "zh-CN", "zh-SG", "zh-Hans", "zh"])
    if not best or not best.startswith("zh"):
        return "en"
    return "zh_Hans" if best in ("zh-CN", "zh-SG", "zh-Hans") else "zh_Hant"


def is_chinese() -> bool:
    return str(get_locale()).startswith("zh")


def html_lang(locale: str | None = None) -> str:
    """The lang attribute for text in `locale` (a stored view's language), or the page's."""
    locale = locale or str(get_locale())
    if locale.startswith("zh"):
        return HTML_LANG.get(locale, HTML_LANG["zh_Hant"])
    return HTML_LANG.get(locale, "en")


def localized(obj, field: str) -> str:
    """obj.<field>_zh in Chinese (converted for Simplified), obj.<field>_en otherwise."""
    if is_chinese():
        value = getattr(obj, f"{field}_zh", None)
        if value:
            return to_simplified(value) if str(get_locale()) == "zh_Hans" else value
    return getattr(obj, f"{field}_en")


def reading_key(field: str) -> Callable[[Any], str] | None:
    """In Chinese, the key that puts reference data in the reader's order by the name they see
    (`field`: "name", "title"); None in English, where lists keep the order they are given in."""
    if not is_chinese():
        return None
    return lambda item: collation_key(localized(item, field))


def in_reading_order(items: Iterable[T], field: str) -> list[T]:
    """Reference data as a list for the reader: in Chinese, sorted by the name the reader sees
    (text.chinese.collation_key), not by the English name or code; in English, as given."""
    items = list(items)
    key = reading_key(field)
    return items if key is None else sorted(items, key=key)


def current_locale() -> str:
    return str(get_locale())
