"""What the public sees beyond the projection's lists: the form's suggestions of published views
like a draft. Everything read here comes out as the projection's objects (kernel/public.py)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from ..campaigns import services as campaigns
from ..extensions import db
from ..kernel import public
from ..kernel.models import Submission
from ..text import near_duplicates

# A draft being typed is compared with published views as a whole text: a third of a campaign's
# text typed (or pasted with a paragraph of one's own) already measures about this much, while
# different texts on the same topic stay under 0.2 (near_duplicates.py).
SUGGEST_SIMILARITY = 0.3
SUGGESTIONS = 3


@dataclass(frozen=True)
class Similar:
    view: public.PublicView
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
        select(Submission.id, Submission.campaign_id, Submission.near_signature).where(
            Submission.id.in_(ids), public.published(), Submission.near_signature.is_not(None)
        )
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
    views = {v.id: v for v in public.views_by_id([view_id for _, view_id in chosen])}
    return [Similar(views[view_id], score) for score, view_id in chosen if view_id in views]
