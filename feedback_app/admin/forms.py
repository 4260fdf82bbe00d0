"""Forms of the account pages and the bureau settings. They check only the shape of what was
typed; the account rules (e-mail, password length, bureau, not locking out the last
administrator) are decided by auth.services, whose AccountError the views put next to the field
it concerns, and what an official contact may be by admin.services (SettingsError)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, IntegerField, PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, NumberRange, Optional

from ..auth.services import DISPLAY_NAME_MAX_LENGTH, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH
from ..kernel.deadlines import TARGET_DAYS_RANGE
from ..web.forms import Form
from ..web.i18n import ROLE_LABELS, localized

_PASSWORD_HINT = _l("At least %(n)d characters.", n=PASSWORD_MIN_LENGTH)
_BUREAU_HINT = _l("Bureau officers only: the bureau whose views they read and answer.")


def role_choices() -> list[tuple[str, str]]:
    return [(code, str(label)) for code, label in ROLE_LABELS.items()]


def bureau_choices(bureaus) -> list[tuple[str, str]]:
    return [("", _l("No bureau"))] + [(b.code, localized(b, "name")) for b in bureaus]


def _role_field():
    return SelectField(_l("Role"), validators=[InputRequired()])


def _bureau_field():
    return SelectField(_l("Bureau"), description=_BUREAU_HINT)


class CreateAccountForm(Form):
    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Length(max=254)])
    display_name = StringField(
        _l("Name"),
        validators=[Optional(), Length(max=DISPLAY_NAME_MAX_LENGTH)],
        description=_l("Shown to colleagues in the history of each view. Leave empty to use the e-mail name."),
    )
    role = _role_field()
    bureau = _bureau_field()
    generate_password = BooleanField(_l("Generate a password for me (shown once, to pass on)"))
    password = PasswordField(
        _l("Password"), validators=[Optional(), Length(max=PASSWORD_MAX_LENGTH)], description=_PASSWORD_HINT
    )
    confirm = PasswordField(
        _l("Password again"), validators=[EqualTo("password", message=_l("The two passwords are not the same."))]
    )
    submit = SubmitField(_l("Create the account"))

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if not self.generate_password.data and not self.password.data:
            self.password.errors = [*self.password.errors, _l("Type a password, or choose to generate one.")]
            valid = False
        return valid


class ChangeRoleForm(Form):
    role = _role_field()
    bureau = _bureau_field()
    submit = SubmitField(_l("Change the role"))


class SetPasswordForm(Form):
    password = PasswordField(
        _l("New password"), validators=[DataRequired(), Length(max=PASSWORD_MAX_LENGTH)], description=_PASSWORD_HINT
    )
    confirm = PasswordField(
        _l("New password again"),
        validators=[
            DataRequired(),
            EqualTo("password", message=_l("The two passwords are not the same.")),
        ],
    )
    submit = SubmitField(_l("Set this password"))


class GeneratePasswordForm(Form):
    submit = SubmitField(_l("Generate a new password"))


class DeactivateForm(Form):
    confirm = BooleanField(
        _l("I understand: this person is signed out at once and cannot sign in until reactivated."),
        validators=[DataRequired(message=_l("Tick the box to confirm."))],
    )
    submit = SubmitField(_l("Deactivate this account"))


class ReactivateForm(Form):
    submit = SubmitField(_l("Reactivate this account"))


class ResetTwoFactorForm(Form):
    confirm = BooleanField(
        _l("I have checked who is asking: they set up two-step sign-in again through the new enrolment link."),
        validators=[DataRequired(message=_l("Tick the box to confirm."))],
    )
    submit = SubmitField(_l("Reset two-step sign-in"))


class IssueEnrolmentLinkForm(Form):
    submit = SubmitField(_l("Issue a new enrolment link"))


class RetrainForm(Form):
    submit = SubmitField(_l("Retrain now"))


class ActivateVersionForm(Form):
    submit = SubmitField(_l("Make this version active"))


class AnswerTargetForm(Form):
    days = IntegerField(
        _l("Answer target, in working days"),
        validators=[
            InputRequired(message=_l("Enter a number of working days.")),
            NumberRange(
                min=TARGET_DAYS_RANGE[0],
                max=TARGET_DAYS_RANGE[1],
                message=_l("Choose between %(min)s and %(max)s working days."),
            ),
        ],
        description=_l(
            "Working days from the day a view reaches the bureau to its answer's due date; weekends and "
            "Hong Kong public holidays do not count. A change moves the due dates of the bureau's views "
            "still awaiting an answer."
        ),
    )
    submit = SubmitField(_l("Save the answer target"))


class OfficialContactForm(Form):
    value = StringField(
        _l("Phone number or e-mail address"),
        validators=[DataRequired(message=_l("Enter a phone number or an e-mail address.")), Length(max=254)],
        description=_l(
            "A Hong Kong phone number the bureau publishes (a hotline), or an e-mail address on gov.hk or "
            "one of its subdomains. It is shown as written in the bureau's answers; a resident's number "
            "or address beside it is still masked."
        ),
    )
    label_en = StringField(_l("Label in English (optional)"), validators=[Optional(), Length(max=120)])
    label_zh = StringField(_l("Label in Chinese (optional)"), validators=[Optional(), Length(max=120)])
    submit = SubmitField(_l("Add the contact"))


class RemoveContactForm(Form):
    submit = SubmitField(_l("Remove"))
