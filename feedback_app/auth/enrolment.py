"""Enrolment links: the one way a member of staff sets up two-step sign-in.

A staff account that had never signed in used to be enrolled by whoever signed in first with its
password, so someone who learnt a new colleague's password could enrol their own phone and lock
the owner out. Now an administrator (the admin page, or `flask users create`) hands the person a
one-time link that expires. Opening it, the person proves the password too (the link and the
password are both needed), scans the secret and confirms a code; only then is the link spent.

Only a keyed hash of a link's token is stored, so a copy of the table opens nothing. The key is
SECRET_KEY: rotating it voids the open links, and an administrator issues new ones. A new link
replaces the account's older ones, and the secret an older link showed with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from flask import current_app
from sqlalchemy import select, update

from ..extensions import db
from ..kernel.database import write_transaction
from ..kernel.models import AuditAction, EnrolmentLink, EnrolmentLinkStatus, User, utcnow
from ..text import keys
from . import two_factor

# keys.new_token() gives 43 characters; anything much longer is not one of ours.
_MAX_TOKEN_LENGTH = 100


class LinkProblem(StrEnum):
    NOT_FOUND = "not_found"  # never issued, mistyped, or its account is deactivated
    EXPIRED = "expired"
    USED = "used"
    REPLACED = "replaced"  # a newer link was issued for the account


class LinkNotUsable(Exception):
    def __init__(self, problem: LinkProblem):
        super().__init__(problem)
        self.problem = problem


@dataclass(frozen=True)
class IssuedLink:
    """A link just issued: its token exists in clear only here, to be shown once."""

    token: str
    expires_at: datetime


def token_hash(token: str) -> str:
    return keys.keyed_hash(current_app.secret_key, "enrolment-link", token)


def needs_link(user: User) -> bool:
    """A staff account that has no authenticator yet can only set one up through a link."""
    return two_factor.required_for(user) and not two_factor.is_enabled(user)


def issue_for(user: User, *, actor: User | None) -> IssuedLink:
    """Issue a new link for `user` (locked, in the caller's write transaction), replacing any
    open one. The rules on who may get one are the caller's (auth.services)."""
    now = utcnow()
    db.session.execute(
        update(EnrolmentLink)
        .where(EnrolmentLink.user_id == user.id, EnrolmentLink.status == EnrolmentLinkStatus.OPEN)
        .values(status=EnrolmentLinkStatus.REPLACED, closed_at=now)
    )
    # A secret someone saw through an older link must not be confirmed through this one.
    user.totp_pending_secret = None
    token = keys.new_token()
    expires_at = now + timedelta(hours=current_app.config["ENROLMENT_LINK_HOURS"])
    db.session.add(
        EnrolmentLink(
            user_id=user.id,
            token_hash=token_hash(token),
            status=EnrolmentLinkStatus.OPEN,
            issued_by_id=actor.id if actor is not None else None,
            created_at=now,
            expires_at=expires_at,
        )
    )
    two_factor.audit(
        user, AuditAction.ENROLMENT_LINK_ISSUED, actor, after={"expires_at": expires_at.isoformat(timespec="minutes")}
    )
    return IssuedLink(token=token, expires_at=expires_at)


def _check(link: EnrolmentLink | None) -> EnrolmentLink:
    if link is None or not link.user.active:
        raise LinkNotUsable(LinkProblem.NOT_FOUND)
    if link.status == EnrolmentLinkStatus.USED or two_factor.is_enabled(link.user):
        raise LinkNotUsable(LinkProblem.USED)
    if link.status == EnrolmentLinkStatus.REPLACED:
        raise LinkNotUsable(LinkProblem.REPLACED)
    if link.expires_at <= utcnow():
        raise LinkNotUsable(LinkProblem.EXPIRED)
    return link


def _by_token(token: str):
    return select(EnrolmentLink).where(EnrolmentLink.token_hash == token_hash(token))


def find(token: str) -> EnrolmentLink:
    """The open link this token belongs to; LinkNotUsable says why there is none."""
    if not token or len(token) > _MAX_TOKEN_LENGTH:
        raise LinkNotUsable(LinkProblem.NOT_FOUND)
    return _check(db.session.execute(_by_token(token)).scalar_one_or_none())


def pending_secret(link: EnrolmentLink) -> str:
    return two_factor.pending_secret(link.user_id)


def complete(token: str, code: str) -> list[str] | None:
    """Spend the link once `code` confirms the secret shown: two-step sign-in is on.

    Returns the recovery codes to show once, or None when the code is not right (the link stays
    open). The link and the account are locked, so two tabs cannot both spend it.
    """
    if not token or len(token) > _MAX_TOKEN_LENGTH:
        raise LinkNotUsable(LinkProblem.NOT_FOUND)
    with write_transaction():
        link = db.session.execute(
            _by_token(token).with_for_update().execution_options(populate_existing=True)
        ).scalar_one_or_none()
        user = two_factor.locked(link.user_id) if link is not None else None
        _check(link)
        codes = two_factor.turn_on(user, code)
        if codes is None:
            return None
        link.status = EnrolmentLinkStatus.USED
        link.closed_at = utcnow()
        two_factor.audit(user, AuditAction.ENROLMENT_LINK_USED, actor=user)
    return codes


def latest(user: User) -> EnrolmentLink | None:
    """The account's most recent link, for the admin page to say where set-up stands."""
    return db.session.execute(
        select(EnrolmentLink).where(EnrolmentLink.user_id == user.id).order_by(EnrolmentLink.id.desc()).limit(1)
    ).scalar_one_or_none()
