"""A lost tracking link found again: the reference and the e-mail address given with the view.

The page answers the same whether or not the two match a view, so it cannot be used to learn
which references have which addresses (or any address at all). The request itself does not even
look: it hands the reference and a keyed hash of the address typed to a worker
(`intake.recover_link`), which compares them with the view and, when they match, writes the
message that carries the link. So both cases cost the request the same one enqueue, whatever
the database holds; the address itself never enters the queue. Only if the queue cannot be
reached is the lookup made in the request (the same statements either way).

Limits: per client (LINK_RECOVERY_RATE_LIMIT) and per reference (LINK_RECOVERY_REFERENCE_LIMIT
below), counting only forms sent without errors; the mail outbox's own per-address limits
(MAIL_ADDRESS_HOURLY_LIMIT, ...) stop the form being used to flood the view's sender.
"""

from __future__ import annotations

import logging
import re
import unicodedata

from flask import current_app, g, make_response, render_template, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import EmailField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, Length, ValidationError

from ..extensions import db, limiter
from ..kernel.database import write_transaction
from ..kernel.models import Submission
from ..kernel.task_queue import enqueue, huey, in_app_context, named
from ..mail import outbox
from ..text import keys
from ..web.forms import Form
from . import bp

log = logging.getLogger(__name__)

# Per reference, whoever asks: a reference's sender needs the link once or twice, not more.
LINK_RECOVERY_REFERENCE_LIMIT = "3 per day"
REFERENCE = re.compile(r"SCF-\d{4}-\d{6}")


def normalised_reference(value: str | None) -> str:
    """A reference as typed, read as we print it: full-width letters and digits folded, any case."""
    return unicodedata.normalize("NFKC", value or "").strip().upper()


class LinkRecoveryForm(Form):
    reference = StringField(
        _l("Reference"),
        description=_l("As in your confirmation or receipt, e.g. SCF-2026-000123."),
        validators=[DataRequired(message=_l("Please type the reference of your view."))],
        render_kw={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"},
    )
    email = EmailField(
        _l("E-mail address"),
        description=_l("The address you gave when you sent the view."),
        validators=[
            DataRequired(message=_l("Please type the e-mail address you gave with the view.")),
            Length(max=254, message=_l("An e-mail address has at most %(max)d characters.")),
            Email(
                message=_l("This does not look like an e-mail address, e.g. name@example.com."),
                check_deliverability=False,
            ),
        ],
        render_kw={"autocomplete": "email"},
    )
    submit = SubmitField(_l("Send me the link"))

    def validate_reference(self, field):
        field.data = normalised_reference(field.data)
        if field.data and not REFERENCE.fullmatch(field.data):
            raise ValidationError(_l("A reference looks like SCF-2026-000123: SCF, the year and six digits."))


# --- The service: no request object ----------------------------------------------------------


def request_link(reference: str, address: str) -> None:
    """Someone asks for the tracking link of `reference`, giving `address`: the link is mailed to
    the view's own address if the two match, and nothing happens otherwise. The caller learns
    nothing either way."""
    hashed = outbox.address_hash(address)
    if not enqueue("intake.recover_link", reference, hashed):
        send_link(reference, hashed)  # the queue is down: look now, rather than lose the request


def send_link(reference: str, address_hash: str) -> bool:
    """Write the link recovery message when `address_hash` is the keyed hash of the address given
    with the view `reference`; whether it matched (for tests and logs, never for the page)."""
    with write_transaction():
        sub = db.session.execute(select(Submission).where(Submission.reference == reference)).scalar_one_or_none()
        if sub is None or not sub.email or not keys.equal(outbox.address_hash(sub.email), address_hash):
            return False
        outbox.queue(outbox.Kind.LINK_RECOVERY, to=sub.email, locale=sub.language, submission=sub)
        return True


@named("intake.recover_link")
@huey.task()  # type: ignore[untyped-decorator]  # huey has no type information
@in_app_context
def recover_link(reference: str, address_hash: str) -> None:
    send_link(reference, address_hash)


# --- The page ----------------------------------------------------------------------------------


def _client_limit() -> str:
    return current_app.config["LINK_RECOVERY_RATE_LIMIT"]


def _reference_key() -> str:
    return "link-recovery:" + normalised_reference(request.form.get("reference"))[:40]


def _asked(response) -> bool:
    # Only a form sent without errors asks for anything: a typo costs nothing.
    return bool(g.get("link_requested"))


def _page(form, *, status: int = 200, sent: bool = False, refusal=None):
    response = make_response(render_template("intake/recover.html", form=form, sent=sent, refusal=refusal), status)
    # What was typed (an address) is on the page: no cache keeps it.
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _refused(_limit):
    form = LinkRecoveryForm()
    refusal = _l(
        "Too many requests for a tracking link: nothing was sent this time. Please try again later "
        "(in an hour, or tomorrow for the same reference)."
    )
    return _page(form, status=429, refusal=refusal)


@bp.route("/lost-tracking-link", methods=["GET", "POST"])
@limiter.limit(_client_limit, methods=["POST"], deduct_when=_asked, on_breach=_refused)
@limiter.limit(
    LINK_RECOVERY_REFERENCE_LIMIT, methods=["POST"], key_func=_reference_key, deduct_when=_asked, on_breach=_refused
)
def lost_link():
    """The form for a lost tracking link; the same answer whether or not a view matches."""
    form = LinkRecoveryForm()
    if not form.is_submitted():
        return _page(form)
    if not form.validate():
        return _page(form, status=400)
    request_link(form.reference.data, form.email.data)
    g.link_requested = True
    # A fresh form: the page must read the same after a match as after none.
    return _page(LinkRecoveryForm(formdata=None), sent=True)
