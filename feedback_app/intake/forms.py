import time

from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeTimedSerializer
from ..forms import Form
from .services import is_form_token, new_form_token
from wtforms import EmailField, HiddenField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError

GENERAL = ""  # the select value for "a general view on this smart area"


class SubmissionForm(Form):
    # One per form page: the same page sent twice is one sending (intake.services.submit).
    # Made when the page is first shown, kept when it is shown again after an error.
    form_token = HiddenField()
    # When the page was shown (signed), for the minimum fill time; see SUBMISSION_MIN_FILL_SECONDS.
    shown_at = HiddenField()
    # A honeypot: hidden from people and from assistive technology, filled in by form-filling
    # scripts. Its name is one no browser's autofill knows.
    leave_empty = StringField(_l("Leave this field empty"))
    # Set by validate() when the form token is missing or malformed. Kept out of the field's
    # errors: the error summary would link to a field nobody can see or fix.
    sending_problem = None
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
            Email(message=_l("This does not look like an e-mail address, e.g. name@example.com."), check_deliverability=False),
        ],
        description=_l("Only if you want the bureau to be able to contact you about this view."),
    )
    submit = SubmitField(_l("Send my view"))

    def validate_body(self, field):
        text = (field.data or "").strip()
        field.data = text
        low, high = current_app.config["SUBMISSION_MIN_LENGTH"], current_app.config["SUBMISSION_MAX_LENGTH"]
        if len(text) < low:
            raise ValidationError(_l("Please write at least %(min)d characters so the bureau can understand your view.", min=low))
        if len(text) > high:
            raise ValidationError(
                _l("Please keep your view under %(max)d characters (it has %(count)d).", max=high, count=len(text))
            )

    def validate_initiative(self, field):
        if field.data not in {choice.value for choice in field.choices}:
            raise ValidationError(_l("Please choose an initiative from the list."))

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if self.leave_empty.data:
            self.sending_problem = _l(
                "This form could not be sent: a field meant to stay empty was filled in (some browser "
                "add-ons do that). What you typed is kept below: please send it again."
            )
            self.leave_empty.data = ""
            return False
        # Only a form otherwise ready to send: a person fixing an error needs no second message.
        if valid and not self._filled_in_time():
            self.sending_problem = _l(
                "That was sent very quickly, so nothing was sent yet: this protects the site from "
                "automatic sending. Please check your view below and send it again."
            )
            self.shown_at.data = shown_now()
            return False
        if not is_form_token(self.form_token.data):
            self.sending_problem = _l(
                "This form came without its one-time sending code (it may be from an old page), so nothing "
                "was sent. What you typed is kept below: please check it and send it again."
            )
            # A fresh one, so the form shown again can be sent.
            self.form_token.data = new_form_token()
            valid = False
        return valid

    def _filled_in_time(self) -> bool:
        minimum = current_app.config["SUBMISSION_MIN_FILL_SECONDS"]
        if not minimum:
            return True
        try:
            _, shown = _stamps().loads(self.shown_at.data or "", return_timestamp=True)
        except BadSignature:
            return False  # no stamp, or not ours: a page from before this check, or a script
        return time.time() - shown.timestamp() >= minimum

    def may_have_been_sent(self) -> bool:
        """Whether the form could be one already sent: its security token and one-time token
        are good, whatever the fields say. Call after validate()."""
        csrf_errors = getattr(getattr(self, "csrf_token", None), "errors", None)
        return not csrf_errors and self.sending_problem is None


def _stamps() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="submission-form-shown-at")


def shown_now() -> str:
    """A signed "the page was shown now" for the form's shown_at field."""
    return _stamps().dumps(0)
