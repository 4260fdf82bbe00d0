import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from flask import current_app
from flask_babel import format_timedelta
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from itsdangerous import BadData, URLSafeTimedSerializer
from wtforms import EmailField, HiddenField, RadioField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError

from ..kernel.models import Verdict
from ..web.forms import Form
from ..web.i18n import VERDICT_LABELS
from .services import is_form_token, new_form_token

GENERAL = ""  # the select value for "a general view on this smart area"


class SubmissionForm(Form):
    class Meta(Form.Meta):
        @property
        def csrf_time_limit(self):
            # As long as the sending code's (form_token): a security token that ran out an hour
            # after the page was shown (Flask-WTF's default) would refuse a long view written slowly.
            return current_app.config["SUBMISSION_FORM_MAX_AGE_SECONDS"]

    # The page's sending code (sending_code()): its one-time token, which makes the same page
    # sent twice one sending (intake.services.submit), and when the page was shown, signed
    # together. Made when the page is first shown, kept when it is shown again after an error.
    form_token = HiddenField()
    # A honeypot: hidden from people and from assistive technology, filled in by form-filling
    # scripts. Its name is one no browser's autofill knows.
    leave_empty = StringField(_l("Leave this field empty"))
    # Set by validate() when the sending code is missing, not ours or too old. Kept out of the
    # field's errors: the error summary would link to a field nobody can see or fix.
    sending_problem = None
    # Set by validate(): the one-time token the form names, whether or not its code is still
    # good (only to look up a view it already sent: knowing a stored token means having had its
    # page), and the one it may store a view with.
    claimed_token: str | None = None
    sending_token: str | None = None
    initiative = SelectField(
        _l("Which initiative is your view about?"),
        validate_choice=False,
        description=_l("Choose “General view” if it is about the smart area as a whole."),
    )
    body = TextAreaField(
        _l("Your view or suggestion"),
        validators=[DataRequired(message=_l("Please write your view."))],
    )
    name = StringField(
        _l("Your name (optional)"),
        validators=[Optional(), Length(max=120, message=_l("Please keep your name under %(max)d characters."))],
    )
    email = EmailField(
        _l("E-mail address (optional)"),
        validators=[
            Optional(),
            Length(max=254),
            Email(
                message=_l("This does not look like an e-mail address, e.g. name@example.com."),
                check_deliverability=False,
            ),
        ],
        description=_l("Only if you want the bureau to be able to contact you about this view."),
    )
    submit = SubmitField(_l("Send my view"))

    def validate_body(self, field):
        text = (field.data or "").strip()
        field.data = text
        low, high = current_app.config["SUBMISSION_MIN_LENGTH"], current_app.config["SUBMISSION_MAX_LENGTH"]
        if len(text) < low:
            raise ValidationError(
                _l("Please write at least %(min)d characters so the bureau can understand your view.", min=low)
            )
        if len(text) > high:
            raise ValidationError(
                _l("Please keep your view under %(max)d characters (it has %(count)d).", max=high, count=len(text))
            )

    def validate_initiative(self, field):
        if field.data not in {choice.value for choice in field.choices}:
            raise ValidationError(_l("Please choose an initiative from the list."))

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        code = read_sending_code(self.form_token.data)
        self.claimed_token = code.token
        if self.leave_empty.data:
            self.sending_problem = _l(
                "This form could not be sent: a field meant to stay empty was filled in (some browser "
                "add-ons do that). What you typed is kept below: please send it again."
            )
            self.leave_empty.data = ""
            return False
        if code.state is not CodeState.GOOD:
            self.sending_problem = self._code_problem(code.state)
            # A fresh one, so the form shown again can be sent.
            self.form_token.data = sending_code()
            return False
        # Only a form otherwise ready to send: a person fixing an error needs no second message.
        if valid and not _filled_in_time(code.shown_at):
            self.sending_problem = _l(
                "That was sent very quickly, so nothing was sent yet: this protects the site from "
                "automatic sending. Please check your view below and send it again."
            )
            self.form_token.data = sending_code(code.token)  # the same sending, shown now
            return False
        self.sending_token = code.token if valid else None
        return valid

    @staticmethod
    def _code_problem(state: "CodeState"):
        if state is CodeState.EXPIRED:
            age = format_timedelta(
                timedelta(seconds=current_app.config["SUBMISSION_FORM_MAX_AGE_SECONDS"]), threshold=1
            )
            return _(
                "This page was opened more than %(age)s ago, so nothing was sent: a view must be sent "
                "within %(age)s of opening the form. What you typed is kept below: please check it and "
                "send it again.",
                age=age,
            )
        return _l(
            "This form came without its one-time sending code (it may be from an old page), so nothing "
            "was sent. What you typed is kept below: please check it and send it again."
        )


FEEDBACK_COMMENT_MAX = 2000


class AnswerFeedbackForm(Form):
    """ "Did this answer your point?" on the tracking page: asked once, the comment goes to the bureau."""

    verdict = RadioField(
        _l("Did this answer your point?"),
        choices=[SelectChoice(verdict.value, VERDICT_LABELS[verdict.value]) for verdict in Verdict],
        validators=[DataRequired(message=_l("Please choose yes, partly or no."))],
    )
    comment = TextAreaField(
        _l("Anything you want the bureau to know? (optional)"),
        validators=[
            Optional(),
            Length(
                max=FEEDBACK_COMMENT_MAX,
                message=_l("Please keep your comment under %(max)d characters."),
            ),
        ],
        description=_l(
            "The bureau reads it with your view; it is not published. Please leave out your name, phone number and address."
        ),
    )
    submit = SubmitField(_l("Send my answer"))


class AttachForm(Form):
    """Add a view sent without an account to the signed-in resident's account: a button."""

    submit = SubmitField(_l("Add this view to my account"))


def _filled_in_time(shown_at: datetime) -> bool:
    minimum = current_app.config["SUBMISSION_MIN_FILL_SECONDS"]
    return not minimum or time.time() - shown_at.timestamp() >= minimum


# -- the sending code: one-time token and "shown at", signed together ------------------------


class CodeState(Enum):
    GOOD = "good"
    EXPIRED = "expired"  # ours, but older than SUBMISSION_FORM_MAX_AGE_SECONDS
    NOT_OURS = "not_ours"  # missing, malformed, made up, or signed with a key no longer kept


@dataclass(frozen=True)
class SendingCode:
    state: CodeState
    # The one-time token the code names, if it is shaped like one. Trust it to store a view only
    # when the state is GOOD; any state may look up a view it already sent (knowing a token that
    # was stored means having had its page).
    token: str | None
    shown_at: datetime | None = None


SENDING_CODE_SALT = "submission-form-sending-code"


def _codes() -> URLSafeTimedSerializer:
    # Signed with the current key, read with SECRET_KEY_FALLBACKS too (itsdangerous takes the
    # keys oldest first and signs with the last), so a rotation does not void open pages.
    keys = [*(current_app.config.get("SECRET_KEY_FALLBACKS") or []), current_app.secret_key]
    return URLSafeTimedSerializer(keys, salt=SENDING_CODE_SALT)


def sending_code(token: str | None = None) -> str:
    """The value of a form page's form_token field: `token` (a new one-time token if None) and
    the moment the page is shown, signed together so neither can be made up or swapped."""
    return _codes().dumps(token or new_form_token())


# Far above any code we make (about 90 characters); anything longer is not read at all.
_LONGEST_CODE = 200


def read_sending_code(value: object) -> SendingCode:
    if not isinstance(value, str) or not value or len(value) > _LONGEST_CODE:
        return SendingCode(CodeState.NOT_OURS, None)
    codes = _codes()
    try:
        token, shown_at = codes.loads(value, return_timestamp=True)
    except BadData:
        try:
            _, token = codes.loads_unsafe(value)
        except BadData:
            token = None
        return SendingCode(CodeState.NOT_OURS, token if is_form_token(token) else None)
    if not is_form_token(token):
        return SendingCode(CodeState.NOT_OURS, None)
    # Aged here rather than by itsdangerous's max_age: an expired code still names its token,
    # so a page already sent leads to its view however old it is.
    if time.time() - shown_at.timestamp() > current_app.config["SUBMISSION_FORM_MAX_AGE_SECONDS"]:
        return SendingCode(CodeState.EXPIRED, token, shown_at)
    return SendingCode(CodeState.GOOD, token, shown_at)
