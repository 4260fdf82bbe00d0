"""What the public sees: published views with the bureaus' answers."""
from __future__ import annotations

from flask import current_app
from sqlalchemy import func, or_, select
from sqlalchemy.orm import aliased, selectinload

from ..extensions import db
from ..models import Status, Submission, Visibility
from ..pagination import KeysetPage, keyset_page


def _published_on(initiative_id: int, view=Submission) -> list:
    return [view.initiative_id == initiative_id, view.visibility == Visibility.PUBLISHED, view.status != Status.REJECTED]


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


def published_copies(initiative_id: int, campaign_ids: set[int]) -> dict[int, int]:
    """How many published copies each campaign has on the initiative."""
    if not campaign_ids:
        return {}
    rows = db.session.execute(
        select(Submission.campaign_id, func.count())
        .where(Submission.campaign_id.in_(campaign_ids), *_published_on(initiative_id))
        .group_by(Submission.campaign_id)
    )
    return dict(rows.all())
