"""Two-factor sign-in: time-based codes (TOTP) from an authenticator app, and recovery codes.

Required for staff (moderators, officers, admins), whose accounts open residents' personal
data; optional for residents. Every change is audited against the account it was made to.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum

import pyotp
import segno
from sqlalchemy import select

from ..extensions import db
from ..kernel import audit as audit_log
from ..kernel.database import write_transaction
from ..kernel.models import AuditAction, Role, User
from ..text import keys

STAFF_ROLES = (Role.MODERATOR, Role.OFFICER, Role.ADMIN)
ISSUER = "Smart City Feedback HK"
RECOVERY_CODE_COUNT = 10
INTERVAL = 30  # seconds per code, what every authenticator app assumes
# 16 base32 characters = 80 random bits. That is far beyond guessing, even offline from a
# stolen table, so one fast SHA-256 per code is enough (no slow password hash, which would
# make checking ten codes cost seconds).
_RECOVERY_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # no 0/o, 1/l: read off paper


class SecondFactor(StrEnum):
    CODE = "code"
    RECOVERY_CODE = "recovery_code"


class TwoFactorError(Exception):
    pass


class AlreadyEnabled(TwoFactorError):
    pass


class RequiredForStaff(TwoFactorError):
    pass


def required_for(user: User) -> bool:
    return user.has_role(*STAFF_ROLES)


def is_enabled(user: User) -> bool:
    return bool(user.totp_secret)


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret, interval=INTERVAL).provisioning_uri(name=email, issuer_name=ISSUER)


@dataclass(frozen=True)
class QrCode:
    """A QR code as plain numbers for the template to draw as an inline <svg>: no markup is
    built in Python, so nothing has to be trusted as safe HTML (and the CSP allows no images
    from data: URLs)."""

    size: int  # modules across, quiet zone included
    path: str  # SVG path data: one rectangle per run of dark modules; digits and letters only


QR_BORDER = 4  # the quiet zone scanners need, in modules


def qr_code(uri: str) -> QrCode:
    matrix = segno.make(uri, error="m").matrix
    runs = []
    for y, row in enumerate(matrix):
        x = 0
        while x < len(row):
            if row[x]:
                start = x
                while x < len(row) and row[x]:
                    x += 1
                runs.append(f"M{start + QR_BORDER} {y + QR_BORDER}h{x - start}v1h-{x - start}z")
            else:
                x += 1
    return QrCode(size=len(matrix) + 2 * QR_BORDER, path="".join(runs))


def grouped(secret: str) -> str:
    """The secret in groups of four, easier to type into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def _normalise(code: str) -> str:
    # People type codes with spaces or dashes, and recovery codes in either case.
    return "".join(ch for ch in (code or "") if ch.isalnum()).lower()


def _current_step() -> int:
    return int(time.time()) // INTERVAL


def _matching_step(secret: str, code: str) -> int | None:
    """The time step `code` belongs to, allowing one step either side for clock drift."""
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, interval=INTERVAL)
    now = _current_step()
    for step in (now - 1, now, now + 1):
        if keys.equal(totp.generate_otp(step), code):
            return step
    return None


def _hash_recovery_code(code: str) -> str:
    return keys.digest(_normalise(code))


def _new_recovery_codes() -> list[str]:
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = keys.random_choice(_RECOVERY_ALPHABET, 16)
        codes.append("-".join(raw[i : i + 4] for i in range(0, 16, 4)))
    return codes


def locked(user_id: int) -> User | None:
    """The account row, locked for this write transaction.

    FOR UPDATE on PostgreSQL (BEGIN IMMEDIATE already serialises SQLite), so two requests
    cannot both spend the same code; populate_existing drops a stale copy in the session.
    """
    return db.session.execute(
        select(User).where(User.id == user_id).with_for_update().execution_options(populate_existing=True)
    ).scalar_one_or_none()


def audit(user: User, action: AuditAction, actor: User | None, after: dict | None = None) -> None:
    # Read by every administrator: never a secret, a code or a link's token in `after`.
    audit_log.record(action, actor=actor, target_user_id=user.id, after=after)


def pending_secret(user_id: int) -> str:
    """The secret an enrolment page shows: the one shown before, until a code confirms it (so a
    QR code already scanned keeps working), else a new one.

    It is kept on the account row, never in the session cookie: that cookie is signed, not
    encrypted, so anyone who sees it could read the secret.
    """
    user = db.session.get(User, user_id)
    if user is not None and user.totp_pending_secret and not is_enabled(user):
        return user.totp_pending_secret
    with write_transaction():
        user = locked(user_id)
        if user is None:
            raise LookupError(user_id)
        if is_enabled(user):
            raise AlreadyEnabled()
        if not user.totp_pending_secret:
            user.totp_pending_secret = new_secret()
        return user.totp_pending_secret


def turn_on(user: User, code: str) -> list[str] | None:
    """Turn two-factor sign-in on for `user` (locked, in the caller's write transaction) once
    `code` proves the app holds the pending secret the enrolment page showed.

    Returns the recovery codes, in clear for the only time (only their hashes are kept), or
    None when the code is not right. Every other session of the account ends: it was opened
    without the second factor.
    """
    if is_enabled(user):
        raise AlreadyEnabled()
    secret = user.totp_pending_secret
    step = _matching_step(secret, _normalise(code)) if secret else None
    if step is None:
        return None
    codes = _new_recovery_codes()
    user.totp_secret = secret
    user.totp_pending_secret = None
    user.totp_last_step = step
    user.recovery_code_hashes = [_hash_recovery_code(c) for c in codes]
    user.session_version = User.session_version + 1
    audit(user, AuditAction.TWO_FACTOR_ENABLED, actor=user)
    return codes


def enable(user_id: int, code: str) -> list[str] | None:
    """A signed-in account turns two-factor sign-in on itself (residents; staff enrol through
    an enrolment link, auth/enrolment.py)."""
    with write_transaction():
        user = locked(user_id)
        if user is None:
            return None
        return turn_on(user, code)


def verify(user_id: int, code: str) -> SecondFactor | None:
    """Check the second step of signing in: an authenticator code or a recovery code.

    Each is accepted once: a code whose time step is not later than the last one accepted is
    refused (someone who saw it cannot replay it), and a recovery code is crossed off.
    """
    code = _normalise(code)
    with write_transaction():
        user = locked(user_id)
        if user is None or not is_enabled(user):
            return None
        step = _matching_step(user.totp_secret, code)
        if step is not None:
            if user.totp_last_step is not None and step <= user.totp_last_step:
                return None
            user.totp_last_step = step
            return SecondFactor.CODE
        digest = _hash_recovery_code(code)
        hashes = list(user.recovery_code_hashes or [])
        remaining = [h for h in hashes if not keys.equal(h, digest)]
        if len(remaining) == len(hashes):
            return None
        user.recovery_code_hashes = remaining
        audit(
            user, AuditAction.TWO_FACTOR_RECOVERY_CODE_USED, actor=user, after={"recovery_codes_left": len(remaining)}
        )
        return SecondFactor.RECOVERY_CODE


def recovery_codes_left(user: User) -> int:
    return len(user.recovery_code_hashes or [])


def turn_off(user_id: int, *, actor: User, action: AuditAction) -> None:
    """Remove the secret and recovery codes, end every session, and audit who did it."""
    with write_transaction():
        user = locked(user_id)
        if user is None:
            raise LookupError(user_id)
        if action == AuditAction.TWO_FACTOR_DISABLED and required_for(user):
            # Only an admin's reset (e.g. a lost phone) may take it from a staff account.
            raise RequiredForStaff()
        was_enabled = is_enabled(user)
        user.totp_secret = None
        user.totp_pending_secret = None
        user.totp_last_step = None
        user.recovery_code_hashes = []
        user.session_version = User.session_version + 1
        audit(user, action, actor=actor, after={"was_enabled": was_enabled})


def disable(user_id: int, *, actor: User) -> None:
    turn_off(user_id, actor=actor, action=AuditAction.TWO_FACTOR_DISABLED)
