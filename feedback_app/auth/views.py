import math
import time

from flask import current_app, flash, g, make_response, redirect, render_template, request, session, url_for
from flask_babel import gettext as _, ngettext
from flask_login import current_user, login_required, logout_user

from ..extensions import limiter
from ..models import Role
from ..urls import safe_next
from . import bp, services, two_factor
from .forms import DisableTwoFactorForm, EnrolTwoFactorForm, LoginForm, LogoutForm, SignInCodeForm
from .login import (
    ENROLMENT_KEY,
    complete_sign_in,
    pending_sign_in,
    pending_user_key,
    refresh_sign_in,
    start_second_step,
)


def _home_for(user) -> str:
    if user.has_role(Role.MODERATOR, Role.ADMIN):
        return url_for("moderation.queue")
    if user.has_role(Role.OFFICER):
        return url_for("bureau.inbox")
    return url_for("catalogue.home")


# Throttling. Only failed attempts count (a view sets g.sign_in_failed), so a person who signs
# in is never locked out by their own successes; the counts live in the limiter's storage
# (Redis when configured), so they hold across workers and nodes.
def _failed() -> bool:
    return bool(g.get("sign_in_failed"))


def _account_key() -> str:
    # Keyed by the address typed, whether or not an account has it: the refusal must look the
    # same for both, or it would tell which addresses have accounts.
    return "account:" + (request.form.get("email") or "").strip().lower()[:254]


def _wait_message(limit) -> str:
    # reset_at is rounded up a second; never say more than the limit's own window.
    seconds = min(limit.reset_at - time.time(), limit.limit.get_expiry())
    minutes = max(1, math.ceil(seconds / 60))
    return ngettext(
        "Too many unsuccessful attempts to sign in. For your security, please wait %(num)d minute and try again.",
        "Too many unsuccessful attempts to sign in. For your security, please wait %(num)d minutes and try again.",
        minutes,
    )


def _login_refused(limit):
    form = LoginForm()
    page = render_template("auth/login.html", form=form, refusal=_wait_message(limit))
    return make_response(page, 429)


def _code_refused(limit):
    page = render_template("auth/login_code.html", form=SignInCodeForm(), refusal=_wait_message(limit))
    return make_response(page, 429)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"],
               deduct_when=lambda response: _failed(), on_breach=_login_refused)
@limiter.limit(lambda: current_app.config["LOGIN_ACCOUNT_RATE_LIMIT"], methods=["POST"], key_func=_account_key,
               deduct_when=lambda response: _failed(), on_breach=_login_refused)
def login():
    if current_user.is_authenticated:
        return redirect(_home_for(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        user = services.authenticate(form.email.data, form.password.data)
        if user is not None:
            target = safe_next(request.args.get("next"))
            if two_factor.is_enabled(user):
                start_second_step(user, remember=form.remember.data, next_url=target)
                return redirect(url_for(".login_code"))
            complete_sign_in(user, remember=form.remember.data)
            flash(_("You are signed in."), "success")
            if two_factor.required_for(user):
                return redirect(url_for(".two_factor_setup", next=target or _home_for(user)))
            return redirect(target or _home_for(user))
        g.sign_in_failed = True
        form.password.errors.append(_("The e-mail address or password is not right."))
    status = 400 if form.errors else 200
    return render_template("auth/login.html", form=form), status


@bp.route("/login/code", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"],
               deduct_when=lambda response: _failed(), on_breach=_code_refused)
@limiter.limit(lambda: current_app.config["TWO_FACTOR_RATE_LIMIT"], methods=["POST"], key_func=pending_user_key,
               deduct_when=lambda response: _failed(), on_breach=_code_refused)
def login_code():
    """The second step of signing in, for accounts with two-factor sign-in."""
    if current_user.is_authenticated:
        return redirect(_home_for(current_user))
    pending = pending_sign_in()
    if pending is None:
        flash(_("Please sign in again: the second step waits only a few minutes."), "error")
        return redirect(url_for(".login"))
    user, state = pending
    form = SignInCodeForm()
    if form.validate_on_submit():
        used = two_factor.verify(user.id, form.code.data)
        if used is not None:
            complete_sign_in(user, remember=state.get("remember", False))
            flash(_("You are signed in."), "success")
            if used == two_factor.SecondFactor.RECOVERY_CODE:
                flash(ngettext("You used a recovery code. %(num)d recovery code is left.",
                               "You used a recovery code. %(num)d recovery codes are left.",
                               two_factor.recovery_codes_left(user)), "warning")
            return redirect(safe_next(state.get("next")) or _home_for(user))
        g.sign_in_failed = True
        form.code.errors.append(_("That code is not right, or was already used. Please try the code the app shows now."))
    status = 400 if form.errors else 200
    return render_template("auth/login_code.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    form = LogoutForm()
    if form.validate_on_submit():
        services.end_all_sessions(current_user.id)
        logout_user()
        flash(_("You are signed out."), "success")
    return redirect(url_for("catalogue.home"))


@bp.get("/two-factor")
@login_required
def two_factor_settings():
    return render_template(
        "auth/two_factor.html",
        enabled=two_factor.is_enabled(current_user),
        required=two_factor.required_for(current_user),
        codes_left=two_factor.recovery_codes_left(current_user),
        form=DisableTwoFactorForm(),
    )


@bp.route("/two-factor/setup", methods=["GET", "POST"])
@login_required
def two_factor_setup():
    target = safe_next(request.args.get("next"))
    if two_factor.is_enabled(current_user):
        return redirect(target or url_for(".two_factor_settings"))
    # The same secret until it is confirmed, so a QR code already scanned keeps working.
    secret = session.get(ENROLMENT_KEY) or two_factor.new_secret()
    session[ENROLMENT_KEY] = secret
    form = EnrolTwoFactorForm()
    if form.validate_on_submit():
        try:
            codes = two_factor.enable(current_user.id, secret, form.code.data)
        except two_factor.AlreadyEnabled:
            return redirect(target or url_for(".two_factor_settings"))
        if codes is not None:
            session.pop(ENROLMENT_KEY, None)
            refresh_sign_in(current_user._get_current_object())
            response = make_response(render_template(
                "auth/recovery_codes.html", codes=codes, next_url=target or _home_for(current_user)
            ))
            # Shown once: keep the codes out of every cache and the browser's history.
            response.headers["Cache-Control"] = "no-store"
            return response
        form.code.errors.append(_("That code is not right. Check that the time on your phone is set automatically, then try the code the app shows now."))
    uri = two_factor.provisioning_uri(secret, current_user.email)
    qr = two_factor.qr_code(uri)
    response = make_response(render_template(
        "auth/two_factor_setup.html", form=form, qr=qr, secret=two_factor.grouped(secret),
        required=two_factor.required_for(current_user),
    ), 400 if form.errors else 200)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/two-factor/disable")
@login_required
@limiter.limit(lambda: current_app.config["LOGIN_ACCOUNT_RATE_LIMIT"], key_func=lambda: f"user:{current_user.get_id()}",
               deduct_when=lambda response: _failed())
def two_factor_disable():
    form = DisableTwoFactorForm()
    user = current_user._get_current_object()
    if two_factor.required_for(user):
        flash(_("Staff accounts must keep two-step sign-in. An administrator can reset it if you lost your phone."), "error")
        return redirect(url_for(".two_factor_settings"))
    if form.validate_on_submit():
        if user.check_password(form.password.data):
            two_factor.disable(user.id, actor=user)
            refresh_sign_in(user)
            flash(_("Two-step sign-in is off."), "success")
            return redirect(url_for(".two_factor_settings"))
        g.sign_in_failed = True  # a stolen session must not become a way to guess the password
        form.password.errors.append(_("That password is not right."))
    page = render_template(
        "auth/two_factor.html", enabled=two_factor.is_enabled(user), required=False,
        codes_left=two_factor.recovery_codes_left(user), form=form,
    )
    return page, 400
