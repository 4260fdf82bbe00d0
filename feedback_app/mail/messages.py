"""A message's text, made when it is sent: subject, plain text and HTML in its reader's language.

Each kind (outbox.Kind) has a subject here and two templates, `templates/mail/<kind>.txt` and
`.html`. What a view's message shows comes from the public projection's tracking view (the text
and answers masked as the sender's tracking page shows them), never from the row itself. A
feature that writes messages of its own kind adds what its templates need with `@context(kind)`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from html import unescape
from typing import Any

from flask import current_app, render_template, url_for
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..extensions import db
from ..kernel import public
from ..kernel.models import Bureau, OutboxMessage, Submission
from ..web.i18n import REJECTION_EXPLANATIONS, REJECTION_LABELS, localized
from . import links
from .outbox import Kind

SUBJECTS = {
    Kind.RECEIPT: _l("We have received your view %(reference)s"),
    Kind.ROUTED: _l("Your view %(reference)s is with the bureau responsible"),
    Kind.REROUTED: _l("Your view %(reference)s has been sent to another bureau"),
    Kind.SENT_BACK: _l("Your view %(reference)s is being sent to the right bureau"),
    Kind.ANSWERED: _l("Your view %(reference)s has been answered"),
    Kind.CLOSED: _l("Your view %(reference)s has been closed"),
    Kind.REJECTED: _l("Your view %(reference)s was not accepted"),
    Kind.LINK_RECOVERY: _l("Your tracking link for %(reference)s"),
    Kind.ACCOUNT_VERIFICATION: _l("Confirm your e-mail address"),
    Kind.DIGEST: _l("New on the initiatives you follow"),
}

_builders: dict[str, Callable[[OutboxMessage], dict[str, Any]]] = {}


def context(
    kind: Kind,
) -> Callable[[Callable[[OutboxMessage], dict[str, Any]]], Callable[[OutboxMessage], dict[str, Any]]]:
    """Register what the templates of `kind` need beyond a view's (called while rendering, in
    the message's language, with url_for making absolute links to PUBLIC_BASE_URL)."""

    def register(func: Callable[[OutboxMessage], dict[str, Any]]) -> Callable[[OutboxMessage], dict[str, Any]]:
        _builders[str(kind)] = func
        return func

    return register


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str
    unsubscribe_url: str


def render(message: OutboxMessage) -> Rendered:
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    with current_app.test_request_context("/", base_url=base), force_locale(message.locale):
        values = _view_context(message.submission) if message.submission is not None else {}
        answering = (message.context or {}).get("bureau")
        if answering and "bureau_names" in values:
            values["answer_bureau_name"] = values["bureau_names"].get(answering)
        values["unsubscribe_url"] = url_for(
            "intake.unsubscribe", message_id=message.id, token=links.unsubscribe_token(message), _external=True
        )
        builder = _builders.get(message.kind)
        if builder is not None:
            values.update(builder(message))
        chinese = message.locale.startswith("zh")
        # Chinese takes a full-width colon and no space between sentences (GLOSSARY.md).
        values.update(
            message=message,
            kind=message.kind,
            locale=message.locale,
            colon="：" if chinese else ": ",
            space="" if chinese else " ",
        )
        reference = message.submission.reference if message.submission is not None else ""
        subject = str(SUBJECTS[Kind(message.kind)]) % {"reference": reference}
        return Rendered(
            subject=subject,
            text=render_template(f"mail/{message.kind}.txt", subject=subject, **values),
            html=render_template(f"mail/{message.kind}.html", subject=subject, **values),
            unsubscribe_url=values["unsubscribe_url"],
        )


_BLOCK_END = re.compile(r"</(?:p|h[1-6]|li|blockquote|pre)>|<br\s*/?>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")


def plain_text(html: str) -> str:
    """An answer's cleaned HTML as plain text for the text part (never read as HTML): one
    paragraph per block, tags dropped, entities turned back into characters."""
    blocks = (" ".join(unescape(_TAG.sub("", piece)).split()) for piece in _BLOCK_END.split(str(html)))
    return "\n\n".join(block for block in blocks if block)


def _bureau_names() -> dict[str, str]:
    return {b.code: localized(b, "name") for b in db.session.execute(select(Bureau)).scalars()}


def _view_context(sub: Submission) -> dict[str, Any]:
    view = public.tracked(sub)
    tracking_url = url_for("intake.track", reference=sub.reference, token=links.tracking_token(sub), _external=True)
    bureau = db.session.get(Bureau, sub.bureau_code) if sub.bureau_code else None
    return {
        "view": view,
        "reference": sub.reference,
        "tracking_url": tracking_url,
        "feedback_url": tracking_url + "#feedback",
        "confirm_url": None
        if sub.mail_confirmed_at is not None
        else url_for("intake.confirm_mail", reference=sub.reference, token=links.confirm_token(sub), _external=True),
        "bureau_name": localized(bureau, "name") if bureau is not None else None,
        "subject_name": localized(view.initiative, "title")
        if view.initiative is not None
        else localized(view.area, "name"),
        "bureau_names": _bureau_names(),
        "plain_text": plain_text,
        "rejection_label": REJECTION_LABELS.get(sub.rejection_reason or ""),
        "rejection_explanation": REJECTION_EXPLANATIONS.get(sub.rejection_reason or ""),
    }
