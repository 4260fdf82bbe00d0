"""The pages of one's own account: the overview, signing up and confirming the address, my
views, download my data, delete my account, change my password. Thin: the services in
signup.py, own_account.py and services.py decide."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import current_app, flash, g, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, logout_user

from ..extensions import limiter
from ..web.i18n import current_locale
from ..web.pagination import parse_after
from . import bp, own_account, services, signup, two_factor
from .forms import (
    ChangePasswordForm,
    ConfirmEmailForm,
    DeleteAccountForm,
    ExportDataForm,
    ResendVerificationForm,
    SignUpForm,
)
from .login import refresh_sign_in

# --- The overview ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Section:
    endpoint: str
    title: str
    summary: str


def _sections(user) -> list[Section]:
    """The overview's links, in order. A feature that adds a page of one's own account adds it
    here (a page on another blueprint is listed once its endpoint exists)."""
    resident = own_account.is_resident(user)
    candidates = [
        (resident, "auth.my_views", _l("My views"), _l("The views you sent while signed in, and where each one is.")),
        (
            resident,
            "catalogue.following",
            _l("Initiatives you follow"),
            _l("The initiatives whose new views and answers you receive by e-mail each week."),
        ),
        (
            resident,
            "auth.export_data",
            _l("Download my data"),
            _l("Everything this site holds about you, in one file."),
        ),
        (True, "auth.change_password", _l("Change password"), _l("Signs you out everywhere else.")),
        (
            True,
            "auth.two_factor_settings",
            _l("Two-step sign-in"),
            _l("A code from an app on your phone as well as your password."),
        ),
        (
            resident,
            "auth.delete_account",
            _l("Delete my account"),
            _l("Your views stay, without your name or e-mail address."),
        ),
    ]
    return [
        Section(endpoint, str(title), str(summary))
        for shown, endpoint, title, summary in candidates
        if shown and endpoint in current_app.view_functions
    ]


def _overview(refusal: str | None = None, status: int = 200):
    user = current_user._get_current_object()
    page = render_template(
        "auth/account.html",
        sections=_sections(user),
        unverified=not services.email_verified(user),
        resend_form=ResendVerificationForm(),
        refusal=refusal,
    )
    return page, status


@bp.get("/")
@login_required
def account():
    return _overview()


# --- Signing up ----------------------------------------------------------------------------------


def _signup_refused(limit):
    form = SignUpForm()
    form.password.data = form.password_again.data = ""
    refusal = _("Too many accounts were asked for from your network just now. Please try again later.")
    return make_response(render_template("auth/signup.html", form=form, refusal=refusal), 429)


@bp.route("/signup", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config.get("SIGNUP_RATE_LIMIT", "5 per hour"),
    methods=["POST"],
    deduct_when=lambda response: bool(g.get("signed_up")),
    on_breach=_signup_refused,
)
def sign_up():
    if current_user.is_authenticated:
        return redirect(url_for(".account"))
    form = SignUpForm()
    if form.validate_on_submit():
        try:
            signup.sign_up(form.email.data, form.password.data, form.display_name.data, locale=current_locale())
        except services.AccountError as exc:
            getattr(form, exc.field or "email").errors.append(exc.message)
        else:
            g.signed_up = True  # counted, whether the address had an account or not
            return redirect(url_for(".sign_up_sent"))
    status = 400 if form.errors else 200
    return render_template("auth/signup.html", form=form), status


@bp.get("/signup/sent")
def sign_up_sent():
    # The same page whether the address had an account already or not.
    return render_template("auth/signup_sent.html", hours=signup.verification_hours())


def _link_page(template: str, status: int = 200, **values):
    response = make_response(render_template(template, **values), status)
    # The link's token is in the address: it must not leak to other sites or caches.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/verify/<token>", methods=["GET", "POST"])
def verify_email(token):
    """The verification link: a page with a button, so a mail scanner opening the link confirms
    nothing; the button confirms the address."""
    try:
        user = signup.account_for_token(token)
    except signup.LinkNotUsable as exc:
        status = 410 if exc.problem == signup.LinkProblem.EXPIRED else 404
        return _link_page("auth/verify_email.html", status, problem=exc.problem.value, form=None)
    form = ConfirmEmailForm()
    done = user.email_verified_at is not None
    if not done and form.validate_on_submit():
        signup.verify(user.id)
        done = True
    status = 400 if form.errors else 200
    return _link_page("auth/verify_email.html", status, problem=None, done=done, form=form)


@bp.post("/verify/resend")
@login_required
@limiter.limit(
    lambda: current_app.config.get("VERIFICATION_RESEND_RATE_LIMIT", "3 per hour"),
    key_func=lambda: f"user:{current_user.get_id()}",
    on_breach=lambda limit: make_response(
        *_overview(_("You asked for the confirmation e-mail several times just now. Please try again later."), 429)
    ),
)
def resend_verification():
    form = ResendVerificationForm()
    if form.validate_on_submit():
        if services.email_verified(current_user):
            flash(_("Your e-mail address is confirmed already."), "success")
        elif signup.resend_verification(current_user.id):
            flash(_("We have sent the confirmation e-mail again. It can take a few minutes to arrive."), "success")
        else:
            flash(
                _("Your address has had as many e-mails from us as it may for now. Please try again later."),
                "error",
            )
    return redirect(url_for(".account"))


# --- My views --------------------------------------------------------------------------------


@bp.get("/views")
@login_required
def my_views():
    page = own_account.own_views(
        current_user, after=parse_after(request.args.get("after")), size=current_app.config["PAGE_SIZE"]
    )
    return render_template("auth/my_views.html", page=page)


# --- Download my data --------------------------------------------------------------------------


@bp.route("/data", methods=["GET", "POST"])
@login_required
@limiter.limit(
    lambda: current_app.config.get("ACCOUNT_EXPORT_RATE_LIMIT", "10 per hour"),
    methods=["POST"],
    key_func=lambda: f"user:{current_user.get_id()}",
)
def export_data():
    if not own_account.is_resident(current_user):
        return render_template("auth/export_data.html", form=None), 403
    form = ExportDataForm()
    if not form.validate_on_submit():
        return render_template("auth/export_data.html", form=form), 400 if form.errors else 200
    data = own_account.export(current_user.id)
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    response = make_response(json.dumps(data, ensure_ascii=False, indent=2))
    response.mimetype = "application/json"
    response.headers["Content-Disposition"] = f'attachment; filename="smart-city-feedback-my-data-{day}.json"'
    response.headers["Cache-Control"] = "no-store"
    return response


# --- Delete my account -------------------------------------------------------------------------


def _failed() -> bool:
    return bool(g.get("sign_in_failed"))


# Pages that ask for the account's password again (delete, change password): wrong ones count
# against the account, as failed sign-ins do, so a stolen session cannot guess it.
password_guesses = limiter.limit(
    lambda: current_app.config["LOGIN_ACCOUNT_RATE_LIMIT"],
    methods=["POST"],
    key_func=lambda: f"user:{current_user.get_id()}",
    deduct_when=lambda response: _failed(),
)


@bp.route("/delete", methods=["GET", "POST"])
@login_required
@password_guesses
def delete_account():
    user = current_user._get_current_object()
    refusal = own_account.refusal(user)
    if refusal is not None:
        return render_template("auth/delete_account.html", form=None, refusal=refusal.message), 403
    form = DeleteAccountForm()
    if form.validate_on_submit():
        try:
            own_account.delete_account(user.id, form.password.data)
        except services.WrongPassword as exc:
            g.sign_in_failed = True  # a stolen session must not become a way to guess the password
            form.password.errors.append(exc.message)
        except services.AccountError as exc:
            return render_template("auth/delete_account.html", form=None, refusal=exc.message), 403
        else:
            logout_user()
            flash(_("Your account is deleted. Your views stay, without your name or e-mail address."), "success")
            return redirect(url_for("catalogue.home"))
    return render_template("auth/delete_account.html", form=form, refusal=None), 400 if form.errors else 200


# --- Change password ---------------------------------------------------------------------------


@bp.route("/password", methods=["GET", "POST"])
@login_required
@password_guesses
def change_password():
    user = current_user._get_current_object()
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            services.change_own_password(user, form.current_password.data, form.password.data)
        except services.WrongPassword as exc:
            g.sign_in_failed = True
            form.current_password.errors.append(exc.message)
        except services.AccountError as exc:
            getattr(form, exc.field or "password").errors.append(exc.message)
        else:
            # Every other session ended with the old session version; this one carries on.
            refresh_sign_in(user)
            flash(_("Your password is changed. You are signed out everywhere else."), "success")
            return redirect(url_for(".account"))
    return render_template(
        "auth/change_password.html", form=form, two_factor_on=two_factor.is_enabled(user)
    ), 400 if form.errors else 200
