"""A resident opens their own account, and proves that its e-mail address is theirs.

Signing up answers the same whether or not the address has an account already, so the form
cannot be used to learn who has one: the same page, the same password hashing, and a message to
the address either way (the verification again for an account that has not verified yet; a note
that it has an account already for one that has), each counted against the address's limits
(mail.outbox.LIMITED), so the form cannot flood a mailbox either.

The verification link carries no secret that is stored anywhere: it is the account's id and a
keyed fingerprint of its address, signed with a time (itsdangerous, salted for this purpose) and
checked against SECRET_KEY and every key in SECRET_KEY_FALLBACKS. It is made when the message is
rendered, so it lasts ACCOUNT_VERIFICATION_HOURS from when it was sent, and it stops working when
the address changes (an account deleted) or once it has been used (the account is verified).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from flask import current_app, url_for
from itsdangerous import BadData, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError
from werkzeug.security import generate_password_hash

from ..extensions import db
from ..kernel import audit
from ..kernel.database import write_transaction
from ..kernel.models import AuditAction, OutboxMessage, Role, User, utcnow
from ..mail import messages, outbox
from ..mail.outbox import Kind
from ..text import keys
from . import services, two_factor
from .demo_accounts import is_demo_email

SALT = "account-verification"
DEFAULT_VERIFICATION_HOURS = 48
# An itsdangerous token of {"u": id, "e": 24 hex} is about 90 characters; far longer is not ours.
_MAX_TOKEN_LENGTH = 300


class Outcome(StrEnum):
    """What signing up did. For the tests and logs only: the page says the same for both."""

    CREATED = "created"
    EXISTING = "existing"


class LinkProblem(StrEnum):
    NOT_FOUND = "not_found"  # mistyped, signed with another key, or its account is gone
    EXPIRED = "expired"


class LinkNotUsable(Exception):
    def __init__(self, problem: LinkProblem):
        super().__init__(problem)
        self.problem = problem


def verification_hours() -> int:
    return int(current_app.config.get("ACCOUNT_VERIFICATION_HOURS", DEFAULT_VERIFICATION_HOURS))


def _secret_keys() -> list[str | bytes]:
    return [current_app.secret_key, *(current_app.config.get("SECRET_KEY_FALLBACKS") or [])]


def _serializer() -> URLSafeTimedSerializer:
    # itsdangerous signs with the last key of the list and accepts any of them.
    return URLSafeTimedSerializer(list(reversed(_secret_keys())), salt=SALT)


def _fingerprint(email: str, key: str | bytes) -> str:
    return keys.keyed_hash(key, SALT, outbox.normalised(email))[:24]


def verification_token(user: User) -> str:
    return str(_serializer().dumps({"u": user.id, "e": _fingerprint(user.email, current_app.secret_key)}))


def account_for_token(token: str) -> User:
    """The account a verification link was made for; LinkNotUsable says why there is none."""
    if not token or len(token) > _MAX_TOKEN_LENGTH:
        raise LinkNotUsable(LinkProblem.NOT_FOUND)
    try:
        data = _serializer().loads(token, max_age=verification_hours() * 3600)
    except SignatureExpired as exc:
        raise LinkNotUsable(LinkProblem.EXPIRED) from exc
    except BadData as exc:
        raise LinkNotUsable(LinkProblem.NOT_FOUND) from exc
    user_id, fingerprint = (data.get("u"), data.get("e")) if isinstance(data, dict) else (None, None)
    if not isinstance(user_id, int) or isinstance(user_id, bool) or not isinstance(fingerprint, str):
        raise LinkNotUsable(LinkProblem.NOT_FOUND)
    user = db.session.get(User, user_id) if 0 < user_id < 2**31 else None
    if user is None or user.deleted_at is not None or not user.active:
        raise LinkNotUsable(LinkProblem.NOT_FOUND)
    if not any(keys.equal(fingerprint, _fingerprint(user.email, key)) for key in _secret_keys()):
        raise LinkNotUsable(LinkProblem.NOT_FOUND)
    return user


def sign_up(email: str, password: str, display_name: str | None, *, locale: str) -> Outcome:
    """Open a resident account, not yet verified, and write its verification message in the
    same transaction. An address with an account already gets no second one (see the module's
    docstring); the caller shows the same page for both outcomes.

    Raises services.AccountError (with its field) for an address, password or name the rules
    refuse: those say nothing about other accounts.
    """
    email = services.normalise_email(email)
    services.check_password_rule(password)
    name = services.display_name_rule(display_name, email)
    locale = locale if locale in outbox.LOCALES else "en"
    # Hashed whatever happens next, so an address with an account answers as slowly as one without.
    password_hash = generate_password_hash(password)
    try:
        with write_transaction():
            existing = services.find_by_email(email)
            if existing is not None or is_demo_email(email):
                _tell_existing(existing, email, locale)
                return Outcome.EXISTING
            user = User(
                email=email,
                display_name=name,
                password_hash=password_hash,
                role=Role.RESIDENT,
                locale=locale,
                email_verified_at=None,
            )
            db.session.add(user)
            db.session.flush()  # the id, for the audit record and the message
            # Ids and codes only: the history is append-only and outlives the account.
            audit.record(
                AuditAction.ACCOUNT_SIGNED_UP,
                actor_id=user.id,
                target_user_id=user.id,
                after={"role": Role.RESIDENT.value, "locale": locale},
            )
            outbox.queue(Kind.ACCOUNT_VERIFICATION, to=email, locale=locale, user=user)
    except IntegrityError:
        # The same address signed up twice at the same moment: the other request made the account.
        return Outcome.EXISTING
    return Outcome.CREATED


def _tell_existing(user: User | None, email: str, locale: str) -> None:
    """A sign-up with an address that has an account: the verification again if it has not been
    verified, else a note that the account exists. A demo address, or an account that cannot
    sign in, gets nothing."""
    if user is None or not user.active or user.deleted_at is not None or is_demo_email(email):
        return
    if user.email_verified_at is None:
        outbox.queue(Kind.ACCOUNT_VERIFICATION, to=user.email, locale=user.locale or locale, user=user)
    else:
        outbox.queue(
            Kind.ACCOUNT_VERIFICATION,
            to=user.email,
            locale=user.locale or locale,
            user=user,
            context={"existing": True},
        )


def verify(user_id: int) -> bool:
    """Mark the account's address verified (the caller checked the link). True when this
    verified it, False when it was verified already."""
    with write_transaction():
        user = two_factor.locked(user_id)
        if user is None or user.email_verified_at is not None:
            return False
        user.email_verified_at = utcnow()
        audit.record(AuditAction.EMAIL_VERIFIED, actor_id=user.id, target_user_id=user.id)
    return True


def resend_verification(user_id: int) -> bool:
    """Write the verification message again, within the address's limits. False when the
    account is verified already, or the address has had as many messages as it may for now."""
    with write_transaction():
        user = db.session.get(User, user_id)
        if user is None or user.email_verified_at is not None or user.deleted_at is not None:
            return False
        message = outbox.queue(Kind.ACCOUNT_VERIFICATION, to=user.email, locale=user.locale or "en", user=user)
    return message is not None


@messages.context(Kind.ACCOUNT_VERIFICATION)
def _verification_context(message: OutboxMessage) -> dict[str, Any]:
    """The link is made now, at sending: nothing secret is kept in the message's context."""
    user = db.session.get(User, message.user_id) if message.user_id is not None else None
    existing = bool((message.context or {}).get("existing"))
    verify_url = None
    if user is not None and not existing and user.email_verified_at is None and user.deleted_at is None:
        verify_url = url_for("auth.verify_email", token=verification_token(user), _external=True)
    return {
        "existing": existing,
        "verify_url": verify_url,
        "hours": verification_hours(),
        "sign_in_url": url_for("auth.login", _external=True),
    }
