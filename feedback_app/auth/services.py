"""Accounts: creating users, signing in, and ending every session of a user."""

from __future__ import annotations

import functools

import email_validator
from flask import current_app, has_request_context
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from ..kernel import audit
from ..kernel.database import write_transaction
from ..kernel.models import AuditAction, Bureau, Role, User, utcnow
from ..text import keys
from ..web.forms import CONTROL_CHARACTERS
from . import demo_accounts, enrolment, two_factor
from .demo_accounts import is_demo_email


class AccountError(ValueError):
    """An account change refused, with a message fit to show and the field it is about.

    Messages are lazy translations: the admin page shows them in the reader's language,
    the command line (no request) in English.
    """

    def __init__(self, message, *, field: str | None = None, detail: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.detail = detail  # e.g. email_validator's own (English) explanation, for the CLI

    def __str__(self) -> str:
        if has_request_context():
            return str(self.message)
        with force_locale("en"):  # no reader to choose a language for (command line, logs)
            return str(self.message)


class AccountNotFound(AccountError):
    pass


def find_by_email(email: str) -> User | None:
    return db.session.execute(select(User).where(func.lower(User.email) == email.strip().lower())).scalar_one_or_none()


@functools.cache
def _dummy_password_hash() -> str:
    # Made once, the same way as real hashes, so checking it costs what checking one does.
    return generate_password_hash(keys.new_token(16))


def authenticate(email: str, password: str, *, allow_demo: bool | None = None) -> User | None:
    """The account these credentials open, or None.

    Every path checks exactly one password hash (a dummy one when there is no account), so
    how long the answer takes does not tell an attacker which e-mails have accounts. A
    deactivated account, or a demo account (public password) where they are not allowed,
    answers exactly like a wrong password.
    """
    if allow_demo is None:
        allow_demo = demo_accounts.allowed(current_app.config)
    user = find_by_email(email)
    matches = check_password_hash(user.password_hash if user is not None else _dummy_password_hash(), password)
    if not matches or user is None or not user.active:
        return None
    if not allow_demo and is_demo_email(user.email):
        return None
    return user


# The rules an account must follow, each decided here once: the sign-in form, the admin page
# and `flask users` all ask these functions, so no door accepts what another then refuses.
PASSWORD_MIN_LENGTH = 10
PASSWORD_MAX_LENGTH = 200  # the sign-in form's limit: a longer password could never be typed in
DISPLAY_NAME_MAX_LENGTH = 120


def normalise_email(email: str | None) -> str:
    """The account e-mail rule: what email-validator accepts (syntax only, no DNS), lower case.

    It is the same check the sign-in form's WTForms `Email()` makes (email-validator with
    deliverability checks off), so an address `flask users create` accepts can sign in.
    """
    try:
        checked = email_validator.validate_email((email or "").strip(), check_deliverability=False)
    except email_validator.EmailNotValidError as exc:
        raise AccountError(
            _l("“%(email)s” is not a valid e-mail address.", email=(email or "").strip()),
            field="email",
            detail=str(exc),
        ) from exc
    return checked.normalized.lower()


def check_password_rule(password: str | None) -> str:
    password = password or ""
    if len(password) < PASSWORD_MIN_LENGTH:
        raise AccountError(_l("A password needs at least %(n)d characters.", n=PASSWORD_MIN_LENGTH), field="password")
    if len(password) > PASSWORD_MAX_LENGTH:
        raise AccountError(_l("A password can have at most %(n)d characters.", n=PASSWORD_MAX_LENGTH), field="password")
    if CONTROL_CHARACTERS.search(password):
        # Every form refuses these, so such a password could never be typed in to sign in.
        raise AccountError(_l("A password cannot contain invisible control characters."), field="password")
    return password


def display_name_rule(display_name: str | None, email: str) -> str:
    name = (display_name or "").strip() or email.split("@")[0]
    if len(name) > DISPLAY_NAME_MAX_LENGTH or CONTROL_CHARACTERS.search(name):
        raise AccountError(
            _l("A name has at most %(n)d characters and no control characters.", n=DISPLAY_NAME_MAX_LENGTH),
            field="display_name",
        )
    return name


def _role_and_bureau(role, bureau: str | None) -> tuple[Role, str | None]:
    """Officers belong to exactly one (existing) bureau; everyone else to none."""
    try:
        role = Role(role)
    except ValueError as exc:
        raise AccountError(_l("“%(role)s” is not a role.", role=role), field="role") from exc
    bureau = (bureau or "").strip().upper() or None
    if role == Role.OFFICER:
        if bureau is None or len(bureau) > 10 or db.session.get(Bureau, bureau) is None:
            raise AccountError(
                _l("A bureau officer needs a valid bureau (load the reference data first)."), field="bureau"
            )
    elif bureau is not None:
        raise AccountError(_l("Only bureau officers belong to a bureau."), field="bureau")
    return role, bureau


def _refuse_demo_account(email: str) -> None:
    """A demo account (public password) is neither created nor reactivated where demo accounts
    are not allowed; sign-in refuses it there too (authenticate)."""
    if is_demo_email(email) and not demo_accounts.allowed(current_app.config):
        raise AccountError(
            _l(
                "%(email)s is a demo account, whose password is public: demo accounts are not allowed on this "
                "site (never in production mode).",
                email=email,
            ),
            field="email",
        )


def _actor_id(actor: User | None) -> int | None:
    return actor.id if actor is not None else None


def _audit(
    user: User, action: AuditAction, actor_id: int | None, before: dict | None = None, after: dict | None = None
):
    # Never a password or a hash here: the history is read by every administrator.
    audit.record(action, actor_id=actor_id, target_user_id=user.id, before=before, after=after)


def _get_for_update(user_id: int) -> User:
    user = db.session.get(User, user_id, with_for_update=True)
    if user is None:
        raise AccountNotFound(_l("There is no such account."))
    return user


def _refuse_removing_admin(user: User, actor_id: int | None) -> None:
    """Called before `user` stops being an active administrator.

    No one may lock themself out, and there must always be one active administrator left,
    or nobody could manage accounts from the site again. The admin rows are locked in id
    order, so two administrators demoting each other at once on PostgreSQL cannot both pass
    the count (the second waits, then sees the first one's change); SQLite's BEGIN IMMEDIATE
    already serialises writers.
    """
    if user.role != Role.ADMIN or not user.active:
        return
    if actor_id == user.id:
        raise AccountError(
            _l(
                "You cannot take away your own administrator access or deactivate your own account. "
                "Ask another administrator."
            )
        )
    admins = (
        db.session.execute(
            select(User.id).where(User.role == Role.ADMIN, User.active.is_(True)).order_by(User.id).with_for_update()
        )
        .scalars()
        .all()
    )
    if not set(admins) - {user.id}:
        raise AccountError(
            _l("This is the last active administrator account. Make another account an administrator first.")
        )


def create_user(
    email: str,
    password: str,
    role: Role,
    *,
    display_name: str | None = None,
    bureau: str | None = None,
    actor: User | None = None,
) -> User:
    email = normalise_email(email)
    _refuse_demo_account(email)
    role, bureau = _role_and_bureau(role, bureau)
    check_password_rule(password)
    name = display_name_rule(display_name, email)
    actor_id = _actor_id(actor)
    with write_transaction():
        if find_by_email(email) is not None:
            raise AccountError(_l("An account for %(email)s already exists.", email=email), field="email")
        # Made by an administrator (the admin page, `flask users`): the address counts as
        # verified, as every account made before residents could sign up does (migration 0021).
        user = User(email=email, display_name=name, role=role, bureau_code=bureau, email_verified_at=utcnow())
        user.set_password(password)
        db.session.add(user)
        db.session.flush()  # the id, for the audit record
        _audit(user, AuditAction.ACCOUNT_CREATED, actor_id, after={"role": role.value, "bureau": bureau})
    return user


def email_verified(user: User) -> bool:
    """Whether the account proved its address: needed to attach views and follow initiatives
    (a resident who signed up and has not opened the verification link yet cannot)."""
    return user.email_verified_at is not None


def _refuse_deleted_account(user: User) -> None:
    if user.deleted_at is not None:
        raise AccountError(_l("This account was deleted by its owner: it cannot be used again."))


def end_all_sessions(user_id: int) -> None:
    """Invalidate every login cookie of this user, on every app node."""
    with write_transaction():
        user = db.session.get(User, user_id)
        if user is not None:
            user.session_version = User.session_version + 1


def change_password(user_id: int, new_password: str, *, actor: User | None = None) -> User:
    """Set a new password and sign the account out everywhere (a stolen cookie dies with it)."""
    check_password_rule(new_password)
    actor_id = _actor_id(actor)
    with write_transaction():
        user = _get_for_update(user_id)
        _refuse_deleted_account(user)
        user.set_password(new_password)
        user.session_version = User.session_version + 1
        _audit(user, AuditAction.PASSWORD_CHANGED, actor_id)
    return user


class WrongPassword(AccountError):
    pass


def change_own_password(user: User, current_password: str, new_password: str) -> User:
    """Someone signed in changes their own password: the current one first, then the new one
    under the same rules; every session of the account ends (the caller signs this one in again
    with the new session version). Two-step sign-in is left as it is."""
    if not user.check_password(current_password or ""):
        raise WrongPassword(_l("That password is not right."), field="current_password")
    check_password_rule(new_password)
    if user.check_password(new_password):
        raise AccountError(_l("The new password is the same as the current one."), field="password")
    return change_password(user.id, new_password, actor=user)


def change_role(user_id: int, role: Role, bureau: str | None = None, *, actor: User | None = None) -> User:
    """Change what the account may do; its sessions end so the new role applies at once."""
    role, bureau = _role_and_bureau(role, bureau)
    actor_id = _actor_id(actor)
    with write_transaction():
        user = _get_for_update(user_id)
        _refuse_deleted_account(user)
        before = {"role": user.role, "bureau": user.bureau_code}
        after = {"role": role.value, "bureau": bureau}
        if before == after:
            return user
        if role != Role.ADMIN:
            _refuse_removing_admin(user, actor_id)
        user.role = role
        user.bureau_code = bureau
        user.session_version = User.session_version + 1
        _audit(user, AuditAction.ROLE_CHANGED, actor_id, before=before, after=after)
    return user


def set_active(user_id: int, active: bool, *, actor: User | None = None) -> User:
    """Deactivate (no sign-in, every session ended) or reactivate an account; never delete it,
    since its decisions and answers stay in the audit history."""
    actor_id = _actor_id(actor)
    with write_transaction():
        user = _get_for_update(user_id)
        if user.active == active:
            return user
        if active:
            _refuse_deleted_account(user)
            _refuse_demo_account(user.email)
        else:
            _refuse_removing_admin(user, actor_id)
        user.active = active
        user.session_version = User.session_version + 1
        _audit(
            user,
            AuditAction.ACCOUNT_REACTIVATED if active else AuditAction.ACCOUNT_DEACTIVATED,
            actor_id,
            before={"active": not active},
            after={"active": active},
        )
    return user


def issue_enrolment_link(user_id: int, *, actor: User | None = None) -> enrolment.IssuedLink:
    """A new one-time link for a staff account to set up two-step sign-in (replacing any older
    one), to hand to the person. Audited as "enrolment_link_issued"; the token is never stored."""
    with write_transaction():
        user = two_factor.locked(user_id)
        if user is None:
            raise AccountNotFound(_l("There is no such account."))
        _refuse_enrolment_link(user)
        return enrolment.issue_for(user, actor=actor)


def _refuse_enrolment_link(user: User) -> None:
    if not two_factor.required_for(user):
        raise AccountError(_l("Residents turn on two-step sign-in themselves, once signed in: no link is needed."))
    if two_factor.is_enabled(user):
        raise AccountError(
            _l("This account has set up two-step sign-in already. To give it a new link, reset its two-step sign-in.")
        )
    if not user.active:
        raise AccountError(_l("This account is deactivated: reactivate it first."))
    _refuse_demo_account(user.email)


def reset_two_factor(user_id: int, actor: User) -> enrolment.IssuedLink | None:
    """An administrator takes two-factor sign-in off an account (e.g. a lost phone).

    Every session of the account ends. A staff account gets a new enrolment link at once (returned,
    to hand over): it cannot sign in again until it sets up an authenticator through it. Audited
    as "two_factor_reset" against the account, with the administrator as actor.
    """
    two_factor.turn_off(user_id, actor=actor, action=AuditAction.TWO_FACTOR_RESET)
    try:
        return issue_enrolment_link(user_id, actor=actor)
    except AccountError:
        return None  # a resident, or an account that may not sign in: nothing to hand over
