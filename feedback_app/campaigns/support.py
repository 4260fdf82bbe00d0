"""Residents' support for published views: "I agree" without writing one more copy of it.

Counted once per person or device. A signed-in resident is their account; anyone else is a
random token in a long-lived cookie on their device. Only a keyed hash of either is stored: the
count needs to know that two supports came from the same supporter, never who that is.

A campaign (near copies of one text, campaigns.py) is one entry on public pages, so its support
is counted over all its copies, each supporter once.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..kernel import public
from ..kernel.database import write_transaction
from ..kernel.models import Submission, Support
from ..text import keys
from .services import sizes as campaign_sizes

DEVICE_COOKIE = "supporter"
DEVICE_COOKIE_DAYS = 730
_DEVICE_TOKEN = keys.token_pattern()


def new_device_token() -> str:
    return keys.new_token()


def is_device_token(value: object) -> bool:
    return isinstance(value, str) and _DEVICE_TOKEN.fullmatch(value) is not None


def supporter_hash(*, user_id: int | None = None, device_token: str | None = None) -> str:
    """Who supports, as a keyed hash: the account when signed in, else the device's token."""
    if user_id is not None:
        subject = f"user:{user_id}"
    elif is_device_token(device_token):
        subject = f"device:{device_token}"
    else:
        raise ValueError("a supporter is an account or a device token")
    return keys.keyed_hash(current_app.secret_key, "support", subject)


def _supports_already(view_id: int, supporters: list[str]) -> bool:
    same_view = Support.submission_id == view_id
    campaign_id = db.session.execute(select(Submission.campaign_id).where(Submission.id == view_id)).scalar()
    if campaign_id is not None:
        copies = select(Submission.id).where(Submission.campaign_id == campaign_id)
        same_view = or_(same_view, Support.submission_id.in_(copies))
    found = db.session.execute(select(Support.id).where(Support.supporter_hash.in_(supporters), same_view).limit(1))
    return found.first() is not None


def add(view: public.PublicView | Submission, supporter: str, *, also: tuple[str, ...] = ()) -> bool:
    """Count `supporter` for the view (and its campaign); False if they were counted before,
    under that hash or one they are `also` (the device of a resident who has since signed in)."""
    with write_transaction():
        if _supports_already(view.id, [supporter, *also]):
            return False
        try:
            # A savepoint: the same supporter clicking twice at once is refused by the unique
            # constraint, and only this insert is undone.
            with db.session.begin_nested():
                db.session.add(Support(submission_id=view.id, supporter_hash=supporter))
                db.session.flush()
        except IntegrityError:
            return False
        public.mark_changed()  # the view's count of supporters, shown on public pages
    return True


@dataclass(frozen=True)
class Standing:
    """What staff see of a view's public weight: its supporters and how many sent it."""

    supporters: int
    copies: int


def of(sub: Submission) -> Standing:
    copies = campaign_sizes({sub.campaign_id}).get(sub.campaign_id, 1) if sub.campaign_id is not None else 1
    # Counted as the public pages count it (public.supporter_counts).
    return Standing(public.supporter_counts([(sub.id, sub.campaign_id)]).get(sub.id, 0), copies)
