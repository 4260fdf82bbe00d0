"""What the public sees: published views with the bureaus' answers."""
from __future__ import annotations

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..models import Status, Submission, Visibility
from ..pagination import KeysetPage, keyset_page


def published_views(initiative_id: int, *, after: int | None) -> KeysetPage[Submission]:
    stmt = (
        select(Submission)
        .options(selectinload(Submission.answers))
        .where(
            Submission.initiative_id == initiative_id,
            Submission.visibility == Visibility.PUBLISHED,
            Submission.status != Status.REJECTED,
        )
    )
    return keyset_page(stmt, Submission.id, after=after, size=current_app.config["PAGE_SIZE"], newest_first=True)
