"""The weekly digest: what was newly published on the initiatives a resident follows.

Each Monday at 09:00 Hong Kong time (01:00 UTC; huey's crontab reads UTC) the worker runs
`send_digests(now)`. For each resident who follows an initiative and whose address is confirmed,
not unsubscribed and not deleted, it lists the views published and the answers given on those
initiatives since the last digest (User.digest_sent_until) or since the follow began, whichever
is later. A resident with nothing new gets nothing, and nothing is written for them. Otherwise
one message is written (Kind.DIGEST) and digest_sent_until set to `now`, in one transaction, under
the account's row lock: two runs at once, or one run twice, send one digest (the second finds
nothing new since `now`).

What the message lists is only ids; its text is made when it is sent, from the public projection
(kernel/public.py): a view hidden meanwhile is left out, and every text is masked as the public
pages show it, in the reader's language. Nothing private is read.

Cost: the week's news is read once per run (the audit log's publications and the answers since
the oldest moment any digest needs, at most LOOKBACK back), for the followed initiatives only;
each account then costs its own short transaction. Views are listed a campaign once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import url_for
from huey import crontab
from sqlalchemy import exists, func, select

from ..extensions import db
from ..kernel import public
from ..kernel.database import write_transaction
from ..kernel.models import Answer, AuditAction, AuditEvent, InitiativeFollow, Role, Submission, User, utcnow
from ..kernel.task_queue import huey, in_app_context
from ..mail import messages, outbox
from ..web.i18n import localized
from .follow import may_follow

log = logging.getLogger(__name__)

# A digest never reaches further back than this (the worker stopped for weeks, say): the reader
# wants the news, not the archive.
LOOKBACK = timedelta(days=35)
# Views listed in one digest (the rest are counted, with a link to the initiatives' pages).
MAX_LISTED = 40
BATCH = 200
# A transaction that began before the run and commits during it stamps its rows with its own
# earlier moment: the run covers up to a few minutes ago, so such a row is not skipped.
SETTLE = timedelta(minutes=5)


@dataclass(frozen=True)
class News:
    submission_id: int
    initiative_id: int
    campaign_id: int | None
    moment: datetime


def _followed_initiatives():
    return select(InitiativeFollow.initiative_id).distinct().scalar_subquery()


def _published_since(start: datetime, end: datetime) -> list[News]:
    """Views on followed initiatives made public in (start, end] and public still."""
    rows = db.session.execute(
        select(Submission.id, Submission.initiative_id, Submission.campaign_id, func.max(AuditEvent.created_at))
        .join(AuditEvent, AuditEvent.submission_id == Submission.id)
        .where(
            AuditEvent.action == AuditAction.VISIBILITY_PUBLISHED,
            AuditEvent.created_at > start,
            AuditEvent.created_at <= end,
            Submission.initiative_id.in_(_followed_initiatives()),
            public.published(),
        )
        .group_by(Submission.id, Submission.initiative_id, Submission.campaign_id)
    )
    return [News(*row) for row in rows]


def _answered_since(start: datetime, end: datetime) -> list[News]:
    """Public views on followed initiatives answered in (start, end]."""
    rows = db.session.execute(
        select(Submission.id, Submission.initiative_id, Submission.campaign_id, func.max(Answer.created_at))
        .join(Answer, Answer.submission_id == Submission.id)
        .where(
            Answer.created_at > start,
            Answer.created_at <= end,
            Submission.initiative_id.in_(_followed_initiatives()),
            public.published(),
        )
        .group_by(Submission.id, Submission.initiative_id, Submission.campaign_id)
    )
    return [News(*row) for row in rows]


def _eligible():
    return (
        User.role == Role.RESIDENT,
        User.active.is_(True),
        User.email_verified_at.is_not(None),
        User.deleted_at.is_(None),
        exists().where(InitiativeFollow.user_id == User.id),
    )


def _once_per_campaign(items: Iterable[News]) -> list[News]:
    """Newest first; a campaign's copies once, at the newest of them."""
    seen: set[int] = set()
    kept = []
    for item in sorted(items, key=lambda n: (n.moment, n.submission_id), reverse=True):
        if item.campaign_id is not None:
            if item.campaign_id in seen:
                continue
            seen.add(item.campaign_id)
        kept.append(item)
    return kept


def send_digests(now: datetime) -> int:
    """Write this week's digests, covering what was published up to `now`; how many were written."""
    floor = now - LOOKBACK
    published = _published_since(floor, now)
    answered = _answered_since(floor, now)
    db.session.rollback()  # end the read: each account is written in its own transaction
    if not published and not answered:
        return 0
    written, after = 0, 0
    while True:
        ids = list(
            db.session.execute(
                select(User.id).where(User.id > after, *_eligible()).order_by(User.id).limit(BATCH)
            ).scalars()
        )
        db.session.rollback()
        if not ids:
            return written
        for user_id in ids:
            written += _digest_for(user_id, now, floor, published, answered)
        after = ids[-1]


def _digest_for(user_id: int, now: datetime, floor: datetime, published: list[News], answered: list[News]) -> bool:
    with write_transaction():
        # Locked: a second run waits here, then finds digest_sent_until already at `now`.
        user = db.session.get(User, user_id, with_for_update=True, populate_existing=True)
        if user is None or not may_follow(user) or not user.email:
            return False
        follows = db.session.execute(
            select(InitiativeFollow.initiative_id, InitiativeFollow.created_at).where(
                InitiativeFollow.user_id == user.id
            )
        ).all()
        since = {
            initiative_id: max(m for m in (started, user.digest_sent_until, floor) if m is not None)
            for initiative_id, started in follows
        }

        def new(items: list[News]) -> list[News]:
            return [n for n in items if n.initiative_id in since and n.moment > since[n.initiative_id]]

        new_views = _once_per_campaign(new(published))
        listed = {n.submission_id for n in new_views} | {n.campaign_id for n in new_views if n.campaign_id}
        new_answers = [
            n
            for n in _once_per_campaign(new(answered))
            if n.submission_id not in listed and (n.campaign_id is None or n.campaign_id not in listed)
        ]
        if not new_views and not new_answers:
            return False  # nothing new: nothing written
        if outbox.is_suppressed(user.email):
            return False
        views = [n.submission_id for n in new_views[:MAX_LISTED]]
        answers = [n.submission_id for n in new_answers[: max(0, MAX_LISTED - len(views))]]
        more = len(new_views) + len(new_answers) - len(views) - len(answers)
        user.digest_sent_until = now
        outbox.queue(
            outbox.Kind.DIGEST,
            to=user.email,
            locale=user.locale or "en",
            user=user,
            context={"views": views, "answered": answers, "more": more},
        )
        return True


@huey.periodic_task(crontab(minute="0", hour="1", day_of_week="1"))  # type: ignore[untyped-decorator]  # huey has no type information
@in_app_context
def weekly_digest() -> int:
    """Mondays at 01:00 UTC, 09:00 in Hong Kong."""
    written = send_digests(utcnow() - SETTLE)
    log.info("weekly digest: %d messages written", written)
    return written


# --- The message ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DigestGroup:
    title: str
    url: str
    views: list[public.PublicView]
    answered: list[public.PublicView]


@messages.context(outbox.Kind.DIGEST)
def _digest_context(message) -> dict[str, Any]:
    """What the digest lists, read through the public projection now, in the reader's language."""
    context = message.context or {}
    views = public.views_by_id([i for i in context.get("views", []) if isinstance(i, int)])
    answered = public.views_by_id([i for i in context.get("answered", []) if isinstance(i, int)])
    groups: dict[str, DigestGroup] = {}
    for key, items in (("views", views), ("answered", answered)):
        for view in items:
            if view.initiative is None:
                continue
            group = groups.get(view.initiative.code)
            if group is None:
                group = groups[view.initiative.code] = DigestGroup(
                    localized(view.initiative, "title"),
                    url_for("catalogue.initiative", code=view.initiative.code, _external=True),
                    [],
                    [],
                )
            getattr(group, key).append(view)
    return {
        "groups": sorted(groups.values(), key=lambda g: g.title),
        "more": int(context.get("more") or 0),
        "following_url": url_for("catalogue.following", _external=True),
        "view_url": lambda reference: url_for("public.view", reference=reference, _external=True),
        "plain_text": messages.plain_text,
    }
