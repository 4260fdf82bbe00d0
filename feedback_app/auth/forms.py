from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional

from ..web.forms import Form
from .services import DISPLAY_NAME_MAX_LENGTH, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH


class LoginForm(Form):
    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    remember = BooleanField(_l("Keep me signed in on this device"))
    submit = SubmitField(_l("Sign in"))


class LogoutForm(Form):
    submit = SubmitField(_l("Sign out"))


class SignInCodeForm(Form):
    # Recovery codes are letters and digits, so the field cannot be numeric-only.
    code = StringField(
        _l("Code"),
        description=_l("The 6-digit code your authenticator app shows now, or one of your recovery codes."),
        validators=[DataRequired(), Length(max=64)],
        render_kw={"autocomplete": "one-time-code", "autocapitalize": "none", "spellcheck": "false"},
    )
    submit = SubmitField(_l("Continue"))


class EnrolmentPasswordForm(Form):
    password = PasswordField(
        _l("Your password"),
        description=_l("The password your administrator gave you, or the one you set since."),
        validators=[DataRequired(), Length(max=200)],
        render_kw={"autocomplete": "current-password"},
    )
    submit = SubmitField(_l("Continue"))


class EnrolTwoFactorForm(Form):
    code = StringField(
        _l("Code from the app"),
        description=_l("After adding the account, type the 6-digit code the app shows."),
        validators=[DataRequired(), Length(max=64)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )
    submit = SubmitField(_l("Turn on two-step sign-in"))


class DisableTwoFactorForm(Form):
    password = PasswordField(
        _l("Your password"),
        description=_l("To confirm it is you."),
        validators=[DataRequired(), Length(max=200)],
        render_kw={"autocomplete": "current-password"},
    )
    submit = SubmitField(_l("Turn off two-step sign-in"))


# --- A resident's own account --------------------------------------------------------------------

_NEW_PASSWORD_HINT = _l("At least %(n)d characters.", n=PASSWORD_MIN_LENGTH)
_NOT_THE_SAME = _l("The two passwords are not the same.")


class SignUpForm(Form):
    email = EmailField(
        _l("E-mail address"),
        description=_l("We send a link to it: open it to confirm that the address is yours."),
        validators=[DataRequired(), Email(), Length(max=254)],
        render_kw={"autocomplete": "email"},
    )
    display_name = StringField(
        _l("Name (optional)"),
        description=_l(
            "Shown in your account, and to the site's administrators. Leave empty to use the first part of your "
            "e-mail address."
        ),
        validators=[Optional(), Length(max=DISPLAY_NAME_MAX_LENGTH)],
        render_kw={"autocomplete": "nickname"},
    )
    password = PasswordField(
        _l("Password"),
        description=_NEW_PASSWORD_HINT,
        validators=[DataRequired(), Length(max=PASSWORD_MAX_LENGTH)],
        render_kw={"autocomplete": "new-password"},
    )
    password_again = PasswordField(
        _l("Password again"),
        validators=[DataRequired(), EqualTo("password", message=_NOT_THE_SAME)],
        render_kw={"autocomplete": "new-password"},
    )
    submit = SubmitField(_l("Open my account"))


class ConfirmEmailForm(Form):
    submit = SubmitField(_l("Confirm my e-mail address"))


class ResendVerificationForm(Form):
    submit = SubmitField(_l("Send the confirmation e-mail again"))


class ChangePasswordForm(Form):
    current_password = PasswordField(
        _l("Current password"),
        validators=[DataRequired(), Length(max=PASSWORD_MAX_LENGTH)],
        render_kw={"autocomplete": "current-password"},
    )
    password = PasswordField(
        _l("New password"),
        description=_NEW_PASSWORD_HINT,
        validators=[DataRequired(), Length(max=PASSWORD_MAX_LENGTH)],
        render_kw={"autocomplete": "new-password"},
    )
    password_again = PasswordField(
        _l("New password again"),
        validators=[DataRequired(), EqualTo("password", message=_NOT_THE_SAME)],
        render_kw={"autocomplete": "new-password"},
    )
    submit = SubmitField(_l("Change my password"))


class ExportDataForm(Form):
    submit = SubmitField(_l("Download my data"))


class DeleteAccountForm(Form):
    password = PasswordField(
        _l("Your password"),
        description=_l("To confirm it is you."),
        validators=[DataRequired(), Length(max=PASSWORD_MAX_LENGTH)],
        render_kw={"autocomplete": "current-password"},
    )
    confirm = BooleanField(
        _l("I understand: my account is deleted for good, and my views stay without my name or e-mail address."),
        validators=[DataRequired(message=_l("Tick the box to confirm."))],
    )
    submit = SubmitField(_l("Delete my account"))
