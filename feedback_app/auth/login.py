"""Flask-Login wiring, the half-signed-in state between password and code, and role checks."""

from __future__ import annotations

import time
from functools import wraps

from flask import abort, current_app, g, redirect, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, current_user, login_user

from ..extensions import db, login_manager
from ..kernel.models import Role, User
from . import two_factor

# The signed session holds who passed the password step, and when; never a logged-in user.
PENDING_KEY = "two_factor_pending"
# Which enrolment link's password step was passed, and when: the link's row id only. The secret
# being set up stays on the server (two_factor.pending_secret): this cookie is signed, not secret.
ENROLMENT_PROOF_KEY = "enrolment_link"


def configure_login(login_manager: LoginManager) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to see this page.")
    login_manager.session_protection = "basic"
    login_manager.user_loader(load_user)


def load_user(cookie_id: str) -> User | None:
    """The cookie carries "<user id>:<session version>"; an outdated version is refused."""
    user_id, _, version = cookie_id.partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or user.session_version != int(version):
        return None
    return user


def complete_sign_in(user: User, *, remember: bool) -> None:
    """Sign `user` in for good: a fresh CSRF token and a session that expires.

    The CSRF token is dropped so a new one is made: a token someone planted or read before
    the sign-in does not carry over into the signed-in session. Marking the session
    permanent is what makes PERMANENT_SESSION_LIFETIME apply to it.
    """
    session.pop(PENDING_KEY, None)
    session.pop(ENROLMENT_PROOF_KEY, None)
    field = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    session.pop(field, None)
    g.pop(field, None)
    login_user(user, remember=remember)
    session.permanent = True


def refresh_sign_in(user: User) -> None:
    """Re-issue the cookie after the account's session version changed under this session."""
    remember_cookie = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
    db.session.refresh(user)
    login_user(user, remember=remember_cookie in request.cookies)
    session.permanent = True


def start_second_step(user: User, *, remember: bool, next_url: str | None) -> None:
    session[PENDING_KEY] = {
        "user_id": user.id,
        "version": user.session_version,
        "since": int(time.time()),
        "remember": bool(remember),
        "next": next_url,
    }


def pending_sign_in() -> tuple[User, dict] | None:
    """The user waiting for the second step, while that wait is recent and still valid."""
    pending = session.get(PENDING_KEY)
    if not isinstance(pending, dict):
        return None
    age = time.time() - pending.get("since", 0)
    if not 0 <= age <= current_app.config["TWO_FACTOR_PENDING_SECONDS"]:
        session.pop(PENDING_KEY, None)
        return None
    user = db.session.get(User, pending.get("user_id"))
    # A password change or sign-out everywhere in the meantime ends the half sign-in too.
    if user is None or not user.active or user.session_version != pending.get("version"):
        session.pop(PENDING_KEY, None)
        return None
    return user, pending


def pending_user_key() -> str:
    """Rate-limit key for code attempts: the account being signed in to."""
    pending = session.get(PENDING_KEY)
    return f"user:{pending.get('user_id')}" if isinstance(pending, dict) else "user:none"


def prove_enrolment_password(link_id: int, user: User) -> None:
    """Remember that this browser typed the right password for this enrolment link."""
    session[ENROLMENT_PROOF_KEY] = {"link_id": link_id, "version": user.session_version, "since": int(time.time())}


def enrolment_password_proven(link_id: int, user: User) -> bool:
    """Whether this browser proved the password for this link recently (the same few minutes as
    the code step of signing in), and nothing changed on the account since."""
    proof = session.get(ENROLMENT_PROOF_KEY)
    if not isinstance(proof, dict):
        return False
    age = time.time() - proof.get("since", 0)
    return (
        0 <= age <= current_app.config["TWO_FACTOR_PENDING_SECONDS"]
        and proof.get("link_id") == link_id
        and proof.get("version") == user.session_version
    )


def role_required(*roles: Role):
    """Only signed-in users holding one of `roles` get through; others get 403 (or sign-in).

    Staff pages also need two-factor sign-in: a staff account without it (signed in
    before enrolment links existed) is sent to the set-up page, which points to its enrolment link.
    """

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not current_user.has_role(*roles):
                abort(403)
            if two_factor.required_for(current_user) and not two_factor.is_enabled(current_user):
                return redirect(url_for("auth.two_factor_setup", next=request.full_path))
            return view(*args, **kwargs)

        return wrapped

    return decorator
