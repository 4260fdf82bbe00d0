from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, Length

from ..web.forms import Form


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
