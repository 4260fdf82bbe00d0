"""What the public sees: published views with the bureaus' answers."""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func, or_, select
from sqlalchemy.orm import aliased, selectinload

from ..campaigns import services as campaigns
from ..text import near_duplicates
from ..extensions import db
from ..kernel.models import Status, Submission, Support, Visibility
from ..web.pagination import KeysetPage, keyset_page


def _published(view=Submission) -> list:
    return [view.visibility == Visibility.PUBLISHED, view.status != Status.REJECTED]


def _published_on(initiative_id: int, view=Submission) -> list:
    return [view.initiative_id == initiative_id, *_published(view)]


def published_view(reference: str) -> Submission | None:
    """The published view with this reference, with its answers; None for any other."""
    return db.session.execute(
        select(Submission).options(selectinload(Submission.answers))
        .where(Submission.reference == reference, *_published())
    ).scalar_one_or_none()


def published_views(initiative_id: int, *, after: int | None) -> KeysetPage[Submission]:
    """Newest first; a campaign once, at its newest published copy, as consultations report them."""
    copy = aliased(Submission)
    newest_copy = select(func.max(copy.id)).where(
        copy.campaign_id == Submission.campaign_id, *_published_on(initiative_id, copy)).scalar_subquery()
    stmt = (
        select(Submission)
        .options(selectinload(Submission.answers))
        .where(*_published_on(initiative_id), or_(Submission.campaign_id.is_(None), Submission.id == newest_copy))
    )
    return keyset_page(stmt, Submission.id, after=after, size=current_app.config["PAGE_SIZE"], newest_first=True)


@dataclass(frozen=True)
class Tally:
    """An initiative's published views as a consultation reports them: a campaign is one entry."""

    views: int       # every copy counted
    entries: int     # as listed: each campaign once
    campaigns: int   # entries that stand for two or more published copies ("Sent N times")
    supporters: int  # each supporter once per entry


def tally(initiative_id: int) -> Tally:
    per_entry = (
        select(func.count().label("copies"))
        .where(*_published_on(initiative_id))
        .group_by(func.coalesce(-Submission.campaign_id, Submission.id)).subquery()
    )
    views, entries, campaigns_ = db.session.execute(select(
        func.coalesce(func.sum(per_entry.c.copies), 0), func.count(), func.count().filter(per_entry.c.copies > 1),
    )).one()
    entry = func.coalesce(-Submission.campaign_id, Submission.id)
    supports = (
        select(entry.label("entry"), Support.supporter_hash).distinct()
        .join(Support, Support.submission_id == Submission.id).where(*_published_on(initiative_id)).subquery()
    )
    supporters = db.session.execute(select(func.count()).select_from(supports)).scalar_one()
    return Tally(int(views), entries, campaigns_, supporters)


def published_copies(campaign_ids: set[int], *, initiative_id: int | None = None) -> dict[int, int]:
    """How many published copies each campaign has, on the initiative if one is given."""
    if not campaign_ids:
        return {}
    published = _published_on(initiative_id) if initiative_id is not None else _published()
    rows = db.session.execute(
        select(Submission.campaign_id, func.count())
        .where(Submission.campaign_id.in_(campaign_ids), *published).group_by(Submission.campaign_id)
    )
    return dict(rows.all())


# A draft being typed is compared with published views as a whole text: a third of a campaign's
# text typed (or pasted with a paragraph of one's own) already measures about this much, while
# different texts on the same topic stay under 0.2 (near_duplicates.py).
SUGGEST_SIMILARITY = 0.3
SUGGESTIONS = 3


@dataclass(frozen=True)
class Similar:
    view: Submission
    similarity: float


def similar_published(draft: str) -> list[Similar]:
    """Published views that say much the same as `draft`: a campaign once, at its newest
    published copy like the draft; the closest first.

    The draft's MinHash band keys find candidates with one indexed lookup (as for grouping
    campaigns), so the cost does not grow with the number of stored views. Only published views'
    keys are read (campaigns.candidate_ids(published=True)): a draft like a campaign nobody has
    published yet costs exactly what a draft like nothing costs, so the time of the answer tells
    nothing of what waits for moderation. The newest published copies of a key come first, so a
    campaign is found at its newest published copies, however many wait behind them.
    """
    signature = near_duplicates.signature(draft)
    if signature is None:
        return []
    keys = sorted(set(near_duplicates.band_keys(signature)))
    ids = campaigns.candidate_ids(keys, published=True)
    if not ids:
        return []
    rows = db.session.execute(
        select(Submission.id, Submission.campaign_id, Submission.near_signature)
        .where(Submission.id.in_(ids), *_published(), Submission.near_signature.is_not(None))
    ).all()
    best: dict[tuple[str, int], tuple[float, int]] = {}  # entry: (score, newest copy like the draft)
    for row in rows:
        score = near_duplicates.similarity(signature, near_duplicates.Signature.from_bytes(row.near_signature))
        if score < SUGGEST_SIMILARITY:
            continue
        entry = ("campaign", row.campaign_id) if row.campaign_id is not None else ("view", row.id)
        score_so_far, newest = best.get(entry, (0.0, 0))
        best[entry] = (max(score, score_so_far), max(row.id, newest))
    chosen = sorted(best.values(), key=lambda e: -e[0])[:SUGGESTIONS]
    return [Similar(db.session.get(Submission, view_id), score) for score, view_id in chosen]
