from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from ..extensions import limiter
from ..models import Role
from . import bp, services
from .forms import LoginForm, LogoutForm


def _home_for(user) -> str:
    if user.has_role(Role.MODERATOR, Role.ADMIN):
        return url_for("moderation.queue")
    if user.has_role(Role.OFFICER):
        return url_for("bureau.inbox")
    return url_for("catalogue.home")


def _safe_next(target: str | None) -> str | None:
    # Only same-site paths, so the sign-in page cannot be used to redirect elsewhere.
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return None


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(_home_for(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        user = services.authenticate(form.email.data, form.password.data)
        if user is not None:
            login_user(user, remember=form.remember.data)
            flash(_("You are signed in."), "success")
            return redirect(_safe_next(request.args.get("next")) or _home_for(user))
        form.password.errors.append(_("The e-mail address or password is not right."))
    status = 400 if form.errors else 200
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    form = LogoutForm()
    if form.validate_on_submit():
        services.end_all_sessions(current_user.id)
        logout_user()
        flash(_("You are signed out."), "success")
    return redirect(url_for("catalogue.home"))
