"""What a resident does with their own account, without asking anyone: list the views sent
while signed in, download everything the platform holds about them, and delete the account.

Only the account's own data is read here: no officer's name, no internal note, no other account.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..kernel import audit, public, workflow
from ..kernel.database import write_transaction
from ..kernel.models import (
    OUTBOX_WAITING,
    AnswerFeedback,
    AuditAction,
    Initiative,
    InitiativeFollow,
    OutboxMessage,
    OutboxStatus,
    Role,
    SmartArea,
    Submission,
    User,
    utcnow,
)
from ..mail import links, outbox
from ..mail.messages import plain_text
from ..web.i18n import STATUS_LABELS, VISIBILITY_LABELS
from ..web.pagination import KeysetPage, keyset_page
from . import services, two_factor
from .demo_accounts import is_demo_email

# A password hash no password matches (werkzeug reads no method in it): the account of a
# deleted resident can never be signed in to again, whatever is typed.
UNUSABLE_PASSWORD = "!deleted"  # nosec B105 - a marker that matches no password, not a password


def deleted_address(user_id: int) -> str:
    """The placeholder that takes a deleted account's address: unique (the column is), and on the
    reserved .invalid domain, so no message can ever reach anyone through it."""
    return f"deleted-{user_id}@invalid"


def is_resident(user: User) -> bool:
    return user.has_role(Role.RESIDENT)


# --- My views --------------------------------------------------------------------------------


@dataclass(frozen=True)
class OwnView:
    """One of the account's views as its list shows it; the token opens its tracking page."""

    id: int  # the list's keyset key
    reference: str
    created_at: datetime
    status: str
    initiative: Initiative | None
    area: SmartArea
    tracking_token: str


def own_views(user: User, *, after: int | None, size: int) -> KeysetPage[OwnView]:
    """The views sent with this account (or attached to it), newest first."""
    stmt = (
        select(Submission)
        .where(Submission.user_id == user.id)
        .options(selectinload(Submission.initiative), selectinload(Submission.topic_area))
    )
    found = keyset_page(stmt, Submission.id, after=after, size=size, newest_first=True)
    rows = [
        OwnView(
            id=sub.id,
            reference=sub.reference,
            created_at=sub.created_at,
            status=sub.status,
            initiative=sub.initiative,
            area=sub.topic_area,
            tracking_token=links.tracking_token(sub),
        )
        for sub in found.items
    ]
    return KeysetPage(rows, found.next_after, found.is_first)


# --- Download my data --------------------------------------------------------------------------


def _when(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _view_record(sub: Submission, feedback: AnswerFeedback | None) -> dict[str, Any]:
    tracked = public.tracked(sub)
    return {
        "reference": sub.reference,
        "sent_at": _when(sub.created_at),
        "language": sub.language,
        "initiative": sub.initiative.code if sub.initiative is not None else None,
        "smart_area": sub.topic_area_code,
        # What they wrote and gave, as they sent it: it is theirs.
        "text_as_sent": sub.body,
        "name_given": sub.name,
        "email_given": sub.email,
        "updates_by_email_confirmed_at": _when(sub.mail_confirmed_at),
        "status": sub.status,
        "status_label": str(STATUS_LABELS.get(sub.status, sub.status)),
        "publication": str(VISIBILITY_LABELS.get(sub.visibility, sub.visibility)),
        "published_text": tracked.text if workflow.is_public(sub.visibility, sub.status) else None,
        "not_accepted_because": tracked.rejection_reason,
        "bureau": sub.bureau_code,
        "routed_at": _when(sub.routed_at),
        "answered_at": _when(sub.answered_at),
        "closed_at": _when(sub.closed_at),
        # The bureau's answers and closing note as the tracking page shows them: no officer named.
        "answers": [
            {
                "bureau": answer.bureau_code,
                "given_at": _when(answer.created_at),
                "text": [{"language": part.language, "text": plain_text(part.html)} for part in answer.parts],
            }
            for answer in tracked.answers
        ],
        "closing_note": tracked.closing_note,
        "history": [{"at": _when(event.created_at), "what": event.action} for event in tracked.history],
        "did_the_answer_help": None
        if feedback is None
        else {"verdict": feedback.verdict, "comment": feedback.comment, "given_at": _when(feedback.created_at)},
    }


def export(user_id: int) -> dict[str, Any]:
    """Everything the platform holds about the account, as JSON-ready values; audited (counts
    only) in its own transaction before it is handed over."""
    user = db.session.get(User, user_id)
    if user is None or user.deleted_at is not None:
        raise services.AccountNotFound("no such account")
    subs = list(
        db.session.execute(
            select(Submission)
            .where(Submission.user_id == user.id)
            .order_by(Submission.id)
            .options(selectinload(Submission.initiative), selectinload(Submission.answers))
        ).scalars()
    )
    feedback = {
        f.submission_id: f
        for f in db.session.execute(
            select(AnswerFeedback).where(AnswerFeedback.submission_id.in_([s.id for s in subs]))
        ).scalars()
    }
    follows = db.session.execute(
        select(InitiativeFollow, Initiative)
        .join(Initiative, Initiative.id == InitiativeFollow.initiative_id)
        .where(InitiativeFollow.user_id == user.id)
        .order_by(InitiativeFollow.created_at)
    ).all()
    # Messages to the account, and to its address about views sent without it: kind and fate only.
    mail = list(
        db.session.execute(
            select(OutboxMessage)
            .where(
                or_(OutboxMessage.user_id == user.id, OutboxMessage.recipient_hash == outbox.address_hash(user.email))
            )
            .order_by(OutboxMessage.id)
        ).scalars()
    )
    data = {
        "exported_at": _when(utcnow()),
        "account": {
            "email": user.email,
            "display_name": user.display_name,
            "role": user.role,
            "created_at": _when(user.created_at),
            "email_verified_at": _when(user.email_verified_at),
            "locale": user.locale,
            "two_step_sign_in": two_factor.is_enabled(user),
        },
        "views": [_view_record(sub, feedback.get(sub.id)) for sub in subs],
        "followed_initiatives": [
            {"initiative": initiative.code, "title": initiative.title_en, "title_zh": initiative.title_zh}
            | {"since": _when(follow.created_at)}
            for follow, initiative in follows
        ],
        "messages": [
            {"kind": m.kind, "created_at": _when(m.created_at), "status": m.status, "sent_at": _when(m.sent_at)}
            for m in mail
        ],
    }
    with write_transaction():
        audit.record(
            AuditAction.ACCOUNT_DATA_EXPORTED,
            actor_id=user.id,
            target_user_id=user.id,
            after={"views": len(data["views"]), "follows": len(follows), "messages": len(mail)},
        )
    return data


# --- Delete my account -------------------------------------------------------------------------


class CannotDelete(services.AccountError):
    pass


def refusal(user: User) -> CannotDelete | None:
    """Why this account cannot delete itself, if it cannot: staff accounts are deactivated by an
    administrator (their decisions stay attributed); a demo account is shared by everyone trying
    the site and is made again by `flask users demo`."""
    if not is_resident(user):
        return CannotDelete(
            _l("Staff accounts are not deleted by their holders: ask an administrator to deactivate yours.")
        )
    if is_demo_email(user.email):
        return CannotDelete(_l("This is a demo account, shared by everyone trying the site: it cannot be deleted."))
    return None


@dataclass(frozen=True)
class Deleted:
    views_anonymised: int
    follows_removed: int
    messages_erased: int


def _erase_mail_about(submission_ids: list[int]) -> int:
    """What outbox.erase does for an address, for the messages about these views: not sent if
    still waiting, and kept only as counts, to no one."""
    if not submission_ids:
        return 0
    about = OutboxMessage.submission_id.in_(submission_ids)
    db.session.execute(
        update(OutboxMessage)
        .where(about, OutboxMessage.status.in_(OUTBOX_WAITING))
        .values(status=OutboxStatus.FAILED, next_attempt_at=None, last_error="erased")
    )
    return db.session.execute(
        update(OutboxMessage).where(about, OutboxMessage.recipient.is_not(None)).values(recipient=None, context={})
    ).rowcount


def delete_account(user_id: int, password: str) -> Deleted:
    """Delete a resident's own account (password asked again, the caller asked for the box).

    The views stay, anonymised: the name and e-mail given with them are removed, and they are
    detached from the account (user_id NULL), so the views of one person are no longer tied
    together by it. Views given with the same address without the account are cleared of name
    and address too, when the account had proven the address to be its own. The row stays for
    the history's foreign keys, with nothing personal in it and no way to sign in; waiting mail
    is stopped and every message's address and context erased; follows are removed. Audited with
    counts only.
    """
    user = db.session.get(User, user_id)
    if user is None or user.deleted_at is not None:
        raise services.AccountNotFound("no such account")
    problem = refusal(user)
    if problem is not None:
        raise problem
    if not user.check_password(password or ""):
        raise services.WrongPassword(_l("That password is not right."), field="password")
    with write_transaction():
        user = two_factor.locked(user_id)
        if user is None or user.deleted_at is not None:
            raise services.AccountNotFound("no such account")
        address = user.email
        verified = user.email_verified_at is not None
        own = list(db.session.execute(select(Submission.id).where(Submission.user_id == user.id)).scalars())
        views = db.session.execute(
            update(Submission).where(Submission.user_id == user.id).values(name=None, email=None, user_id=None)
        ).rowcount
        if verified:
            # Only an address the account proved its own: an unverified account must not be able to
            # take someone else's address off their views.
            views += db.session.execute(
                update(Submission)
                .where(func.lower(Submission.email) == outbox.normalised(address))
                .values(name=None, email=None)
            ).rowcount
        follows = db.session.execute(delete(InitiativeFollow).where(InitiativeFollow.user_id == user.id)).rowcount
        # By address only when it was proven the account's: an unconfirmed account must not stop
        # or erase the mail of the address's real owner. Its own views' mail goes either way.
        erased = outbox.erase([address] if verified else [], user_id=user.id)
        erased += _erase_mail_about(own)
        user.email = deleted_address(user.id)
        user.display_name = ""
        user.password_hash = UNUSABLE_PASSWORD
        user.active = False
        user.deleted_at = utcnow()
        user.email_verified_at = None
        user.locale = None
        user.totp_secret = None
        user.totp_pending_secret = None
        user.totp_last_step = None
        user.recovery_code_hashes = []
        user.session_version = User.session_version + 1
        audit.record(
            AuditAction.ACCOUNT_DELETED,
            actor_id=user.id,
            target_user_id=user.id,
            after={"views_anonymised": views, "follows_removed": follows, "messages_erased": erased},
        )
    return Deleted(views, follows, erased)
