import math
import time

from flask import current_app, flash, g, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required, logout_user

from ..extensions import limiter
from ..kernel.models import Role
from ..text import keys
from ..web.urls import safe_next
from . import bp, enrolment, services, two_factor
from .forms import (
    DisableTwoFactorForm,
    EnrolmentPasswordForm,
    EnrolTwoFactorForm,
    LoginForm,
    LogoutForm,
    SignInCodeForm,
)
from .login import (
    complete_sign_in,
    enrolment_password_proven,
    pending_sign_in,
    pending_user_key,
    prove_enrolment_password,
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


def _signed_in(user) -> None:
    flash(_("You are signed in."), "success")
    if not services.email_verified(user):
        flash(
            _(
                "Please confirm your e-mail address with the link we sent you. Until then you cannot add "
                "views to your account or follow initiatives. Your account page can send the link again."
            ),
            "warning",
        )


def _needs_link_message() -> str:
    return _(
        "Your account must set up two-step sign-in before it can be used. Open the enrolment link your "
        "administrator gave you (ask them for a new one if it has expired or you do not have it)."
    )


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_RATE_LIMIT"],
    methods=["POST"],
    deduct_when=lambda response: _failed(),
    on_breach=_login_refused,
)
@limiter.limit(
    lambda: current_app.config["LOGIN_ACCOUNT_RATE_LIMIT"],
    methods=["POST"],
    key_func=_account_key,
    deduct_when=lambda response: _failed(),
    on_breach=_login_refused,
)
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
            if enrolment.needs_link(user):
                # The password alone must not let anyone set up the authenticator (and so own the
                # account): only the person holding the link an administrator gave out can.
                return render_template("auth/login.html", form=form, refusal=_needs_link_message()), 403
            complete_sign_in(user, remember=form.remember.data)
            _signed_in(user)
            return redirect(target or _home_for(user))
        g.sign_in_failed = True
        form.password.errors.append(_("The e-mail address or password is not right."))
    status = 400 if form.errors else 200
    return render_template("auth/login.html", form=form), status


@bp.route("/login/code", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_RATE_LIMIT"],
    methods=["POST"],
    deduct_when=lambda response: _failed(),
    on_breach=_code_refused,
)
@limiter.limit(
    lambda: current_app.config["TWO_FACTOR_RATE_LIMIT"],
    methods=["POST"],
    key_func=pending_user_key,
    deduct_when=lambda response: _failed(),
    on_breach=_code_refused,
)
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
            _signed_in(user)
            if used == two_factor.SecondFactor.RECOVERY_CODE:
                flash(
                    ngettext(
                        "You used a recovery code. %(num)d recovery code is left.",
                        "You used a recovery code. %(num)d recovery codes are left.",
                        two_factor.recovery_codes_left(user),
                    ),
                    "warning",
                )
            return redirect(safe_next(state.get("next")) or _home_for(user))
        g.sign_in_failed = True
        form.code.errors.append(
            _("That code is not right, or was already used. Please try the code the app shows now.")
        )
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


def _recovery_codes_page(codes: list[str], next_url: str):
    response = make_response(render_template("auth/recovery_codes.html", codes=codes, next_url=next_url))
    # Shown once: keep the codes out of every cache and the browser's history.
    response.headers["Cache-Control"] = "no-store"
    return response


def _setup_page(form, secret: str, email: str, *, required: bool, status: int):
    qr = two_factor.qr_code(two_factor.provisioning_uri(secret, email))
    response = make_response(
        render_template(
            "auth/two_factor_setup.html",
            form=form,
            qr=qr,
            secret=two_factor.grouped(secret),
            required=required,
        ),
        status,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _wrong_setup_code() -> str:
    return _(
        "That code is not right. Check that the time on your phone is set automatically, then try the code "
        "the app shows now."
    )


@bp.route("/two-factor/setup", methods=["GET", "POST"])
@login_required
def two_factor_setup():
    """A signed-in resident turns two-step sign-in on. Staff set it up through their link."""
    target = safe_next(request.args.get("next"))
    if two_factor.is_enabled(current_user):
        return redirect(target or url_for(".two_factor_settings"))
    if enrolment.needs_link(current_user):
        page = render_template("auth/enrolment_problem.html", problem="needs_link", message=_needs_link_message())
        return page, 403
    # The same secret until it is confirmed, so a QR code already scanned keeps working.
    secret = two_factor.pending_secret(current_user.id)
    form = EnrolTwoFactorForm()
    if form.validate_on_submit():
        try:
            codes = two_factor.enable(current_user.id, form.code.data)
        except two_factor.AlreadyEnabled:
            return redirect(target or url_for(".two_factor_settings"))
        if codes is not None:
            refresh_sign_in(current_user._get_current_object())
            return _recovery_codes_page(codes, target or _home_for(current_user))
        form.code.errors.append(_wrong_setup_code())
    return _setup_page(form, secret, current_user.email, required=False, status=400 if form.errors else 200)


# --- Enrolment links: how staff set up two-step sign-in -------------------------------------


def _link_key() -> str:
    # Wrong passwords typed on one link's page, counted per link (a digest: the token is a secret).
    token = (request.view_args or {}).get("token", "")
    return "enrolment:" + keys.digest(token)[:32]


def _link_problem(problem: enrolment.LinkProblem):
    status = 404 if problem == enrolment.LinkProblem.NOT_FOUND else 410
    response = make_response(render_template("auth/enrolment_problem.html", problem=problem.value), status)
    response.headers["Cache-Control"] = "no-store"
    return response


def _link_refused(limit):
    page = render_template(
        "auth/enrolment_password.html", form=EnrolmentPasswordForm(), user=None, refusal=_wait_message(limit)
    )
    return make_response(page, 429)


@bp.route("/enrol/<token>", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_RATE_LIMIT"],
    methods=["POST"],
    deduct_when=lambda response: _failed(),
    on_breach=_link_refused,
)
@limiter.limit(
    lambda: current_app.config["LOGIN_ACCOUNT_RATE_LIMIT"],
    methods=["POST"],
    key_func=_link_key,
    deduct_when=lambda response: _failed(),
    on_breach=_link_refused,
)
def enrol_with_link(token):
    """First step of an enrolment link: the person proves the password as well as the link."""
    try:
        link = enrolment.find(token)
    except enrolment.LinkNotUsable as exc:
        return _link_problem(exc.problem)
    user = link.user
    if enrolment_password_proven(link.id, user):
        return redirect(url_for(".enrol_authenticator", token=token))
    form = EnrolmentPasswordForm()
    if form.validate_on_submit():
        # The sign-in check itself: the same work and answer for a wrong password, a deactivated
        # or a refused demo account.
        if services.authenticate(user.email, form.password.data) is not None:
            prove_enrolment_password(link.id, user)
            return redirect(url_for(".enrol_authenticator", token=token))
        g.sign_in_failed = True
        form.password.errors.append(_("That password is not right."))
    response = make_response(
        render_template("auth/enrolment_password.html", form=form, user=user), 400 if form.errors else 200
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/enrol/<token>/authenticator", methods=["GET", "POST"])
def enrol_authenticator(token):
    """Second step: scan the secret (kept on the server), confirm a code; the link is spent and
    the person is signed in, having shown the link, the password and the app."""
    try:
        link = enrolment.find(token)
    except enrolment.LinkNotUsable as exc:
        return _link_problem(exc.problem)
    user = link.user
    if not enrolment_password_proven(link.id, user):
        flash(_("Please type your password again: this step waits only a few minutes."), "error")
        return redirect(url_for(".enrol_with_link", token=token))
    secret = enrolment.pending_secret(link)
    form = EnrolTwoFactorForm()
    if form.validate_on_submit():
        try:
            codes = enrolment.complete(token, form.code.data)
        except enrolment.LinkNotUsable as exc:
            return _link_problem(exc.problem)
        if codes is not None:
            complete_sign_in(user, remember=False)
            return _recovery_codes_page(codes, _home_for(user))
        form.code.errors.append(_wrong_setup_code())
    return _setup_page(form, secret, user.email, required=True, status=400 if form.errors else 200)


@bp.post("/two-factor/disable")
@login_required
@limiter.limit(
    lambda: current_app.config["LOGIN_ACCOUNT_RATE_LIMIT"],
    key_func=lambda: f"user:{current_user.get_id()}",
    deduct_when=lambda response: _failed(),
)
def two_factor_disable():
    form = DisableTwoFactorForm()
    user = current_user._get_current_object()
    if two_factor.required_for(user):
        flash(
            _("Staff accounts must keep two-step sign-in. An administrator can reset it if you lost your phone."),
            "error",
        )
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
        "auth/two_factor.html",
        enabled=two_factor.is_enabled(user),
        required=False,
        codes_left=two_factor.recovery_codes_left(user),
        form=form,
    )
    return page, 400
