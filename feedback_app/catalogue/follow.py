"""Following an initiative: a resident with a confirmed e-mail address gets a weekly digest of
what was newly published on it (digest.py). One InitiativeFollow row per resident and initiative.

Only residents follow (staff read the workspaces), and only with a confirmed address: the digest
is mail, and mail goes only to addresses their owner proved are theirs.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import wraps

from flask import abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..kernel import catalogue
from ..kernel.database import write_transaction
from ..kernel.models import Initiative, InitiativeFollow, Role, User
from ..web.i18n import localized
from ..web.pagination import KeysetPage, keyset_page, parse_after
from ..web.urls import safe_next
from . import bp

# --- The service: no request object ----------------------------------------------------------


class FollowRefused(Exception):
    """The account may not follow initiatives (not a resident, or its address is not confirmed)."""


def may_follow(user: User) -> bool:
    return user.role == Role.RESIDENT and user.active and user.email_verified_at is not None and user.deleted_at is None


def is_following(user_id: int, initiative_id: int) -> bool:
    return (
        db.session.execute(
            select(InitiativeFollow.user_id).where(
                InitiativeFollow.user_id == user_id, InitiativeFollow.initiative_id == initiative_id
            )
        ).first()
        is not None
    )


def follow(user: User, initiative_id: int) -> bool:
    """`user` follows the initiative from now on: True when this started it, False when it was
    followed already. Raises FollowRefused for an account that may not follow."""
    if not may_follow(user):
        raise FollowRefused
    try:
        with write_transaction():
            if is_following(user.id, initiative_id):
                return False
            db.session.add(InitiativeFollow(user_id=user.id, initiative_id=initiative_id))
    except IntegrityError:  # the same button twice at once: the other request made the row
        return False
    return True


def unfollow(user_id: int, initiative_id: int) -> bool:
    """True when the initiative was followed and is not any more."""
    with write_transaction():
        removed = db.session.execute(
            delete(InitiativeFollow).where(
                InitiativeFollow.user_id == user_id, InitiativeFollow.initiative_id == initiative_id
            )
        ).rowcount
    return bool(removed)


def followed(user_id: int, *, after: int | None, size: int) -> KeysetPage[Initiative]:
    """A page of the initiatives `user_id` follows, by id."""
    stmt = (
        select(Initiative)
        .join(InitiativeFollow, InitiativeFollow.initiative_id == Initiative.id)
        .where(InitiativeFollow.user_id == user_id)
    )
    return keyset_page(stmt, Initiative.id, after=after, size=size)


# --- What the initiative page shows ----------------------------------------------------------


@dataclass(frozen=True)
class FollowState:
    may_follow: bool
    following: bool
    # Why not, for the line shown instead of the button: "visitor", "unconfirmed" or "staff".
    reason: str | None = None


@bp.context_processor
def _follow_helpers():
    def follow_state(initiative: Initiative) -> FollowState:
        if not current_user.is_authenticated:
            return FollowState(False, False, "visitor")
        if current_user.role != Role.RESIDENT:
            return FollowState(False, False, "staff")
        if not may_follow(current_user):
            return FollowState(False, False, "unconfirmed")
        return FollowState(True, is_following(current_user.id, initiative.id))

    return {"follow_state": follow_state}


# --- The pages ---------------------------------------------------------------------------------


def _back(initiative: Initiative):
    return redirect(safe_next(request.form.get("next")) or url_for("catalogue.initiative", code=initiative.code))


@bp.post("/initiatives/<code>/follow")
@login_required
def follow_initiative(code):
    initiative = catalogue.get_initiative(code) or abort(404)
    try:
        follow(current_user, initiative.id)
    except FollowRefused:
        if current_user.role != Role.RESIDENT:
            abort(403)
        flash(_("Please confirm your account's e-mail address first: the digest is sent by e-mail."), "error")
        return _back(initiative)
    flash(_("You follow this initiative: new views and answers on it come in a weekly e-mail."), "success")
    return _back(initiative)


@bp.post("/initiatives/<code>/unfollow")
@login_required
def unfollow_initiative(code):
    initiative = catalogue.get_initiative(code) or abort(404)
    unfollow(current_user.id, initiative.id)
    flash(_("You no longer follow %(title)s.", title=localized(initiative, "title")), "success")
    return _back(initiative)


def _not_stored(view):
    """An account's page is never kept by a cache, not even the redirect to sign in (the
    catalogue's other pages are public)."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        response = make_response(view(*args, **kwargs))
        response.headers["Cache-Control"] = "no-store"
        return response

    return wrapped


@bp.get("/account/following")
@_not_stored
@login_required
def following():
    page = followed(current_user.id, after=parse_after(request.args.get("after")), size=current_app.config["PAGE_SIZE"])
    return render_template("catalogue/following.html", page=page, may_follow=may_follow(current_user))
