"""The public projection: the one module that says what the public may see of a view.

Every public reader (the public pages, the catalogue's initiative pages, the form's suggestions,
support counts, and later statistics, open data, feeds and the API) reads views through here:
- the published condition, `workflow.published()`, one SQL expression from the workflow's rules;
- the listing that shows a campaign once, at its newest published copy;
- small frozen objects (`PublicView`, `PublicAnswer`) whose text is already the published text
  (a moderator's edit or the view as sent, masked either way), with its mask tokens in the
  reader's language. A private field (name, e-mail, the text as sent, the client's or a
  supporter's hash, the route's history of decisions) is not there to be shown by mistake.

The tracking page, which the sender alone reaches by a secret link, reads a `TrackedView`:
the same published text, with the view's state and a history without names or reasons.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import aliased, selectinload

from ..extensions import db
from ..text.redaction import PLACEHOLDERS, published_text, redact
from . import workflow
from .catalogue import AreaRef, InitiativeRef
from .models import Submission, Support

published = workflow.published

# What a masked piece of personal data reads as, in the reader's language. English keeps the
# tokens of text/redaction.py; the catalogues give them in Chinese (full-width brackets).
MASK_TOKENS = {
    "hkid": _l("[HKID]"),
    "phone": _l("[PHONE]"),
    "email": _l("[EMAIL]"),
    "url": _l("[URL]"),
    "address": _l("[ADDRESS]"),
    "card": _l("[CARD]"),
    "passport": _l("[PASSPORT]"),
    "name": _l("[NAME]"),
    "birth_date": _l("[DATE OF BIRTH]"),
    "bank_account": _l("[ACCOUNT]"),
    "id_card": _l("[ID NUMBER]"),
}


def mask_tokens() -> dict[str, str]:
    """The mask tokens in the current request's language (a kind without one keeps English)."""
    return {kind: str(MASK_TOKENS.get(kind, token)) for kind, token in PLACEHOLDERS.items()}


@dataclass(frozen=True)
class PublicAnswer:
    """A bureau's answer as published: masked like any published text."""

    bureau_code: str
    text: str
    created_at: datetime


@dataclass(frozen=True)
class PublicView:
    """A published view as the public sees it."""

    id: int  # only to tell views apart on a page (element ids); the reference is its public name
    reference: str
    created_at: datetime
    language: str
    text: str  # the published text: a moderator's edit or the view as sent, masked
    area: AreaRef  # the smart area the resident wrote about
    initiative: InitiativeRef | None
    answers: tuple[PublicAnswer, ...]
    copies: int  # published copies it stands for: more than one for a campaign, shown once
    supporters: int  # each supporter once, over the campaign's copies when it stands for one


@dataclass(frozen=True)
class PublicEvent:
    """A step in a view's history as its sender sees it: when, and what happened (no one's name)."""

    created_at: datetime
    action: str


@dataclass(frozen=True)
class TrackedView:
    """What the tracking page shows its sender: the view's state, its published text and answers."""

    reference: str
    created_at: datetime
    status: str
    visibility: str
    text: str  # as it is (or would be) published, masked: the sender sees what the public would
    area: AreaRef
    initiative: InitiativeRef | None
    bureau_code: str | None
    answers: tuple[PublicAnswer, ...]
    history: tuple[PublicEvent, ...]


@dataclass(frozen=True)
class Tally:
    """An initiative's published views as a consultation reports them: a campaign is one entry."""

    views: int  # every copy counted
    entries: int  # as listed: each campaign once
    campaigns: int  # entries that stand for two or more published copies ("Sent N times")
    supporters: int  # each supporter once per entry


@dataclass(frozen=True)
class PublicPage:
    """A page of a list cut by id, newest first (read by the `pager` macro like a KeysetPage)."""

    items: list[PublicView]
    next_after: int | None
    is_first: bool


def _published_on(initiative_id: int, view: workflow.View = Submission) -> list[ColumnElement[bool]]:
    return [view.initiative_id == initiative_id, published(view)]


def listing(initiative_id: int) -> Select[tuple[Submission]]:
    """An initiative's published views, a campaign once, at its newest published copy (as
    consultations report them)."""
    copy = aliased(Submission)
    newest_copy = (
        select(func.max(copy.id))
        .where(copy.campaign_id == Submission.campaign_id, *_published_on(initiative_id, copy))
        .scalar_subquery()
    )
    return select(Submission).where(
        *_published_on(initiative_id), or_(Submission.campaign_id.is_(None), Submission.id == newest_copy)
    )


def _loaded(stmt: Select[tuple[Submission]]) -> Select[tuple[Submission]]:
    return stmt.options(
        selectinload(Submission.answers),
        selectinload(Submission.initiative),
        selectinload(Submission.topic_area),
    )


def view(reference: str) -> PublicView | None:
    """The published view with this reference; None for any other (unpublished, rejected, none)."""
    sub = db.session.execute(
        _loaded(select(Submission).where(Submission.reference == reference, published()))
    ).scalar_one_or_none()
    return _project([sub])[0] if sub is not None else None


def views_on(initiative_id: int, *, after: int | None, size: int) -> PublicPage:
    """A page of `listing(initiative_id)`, newest first, cut at id `after`."""
    stmt = listing(initiative_id)
    if after is not None:
        stmt = stmt.where(Submission.id < after)
    rows = list(db.session.execute(_loaded(stmt).order_by(Submission.id.desc()).limit(size + 1)).scalars())
    more = len(rows) > size
    rows = rows[:size]
    return PublicPage(_project(rows, initiative_id=initiative_id), rows[-1].id if more else None, after is None)


def views_by_id(ids: Sequence[int]) -> list[PublicView]:
    """The published views among `ids`, in that order (any other id is left out)."""
    if not ids:
        return []
    rows = db.session.execute(_loaded(select(Submission).where(Submission.id.in_(ids), published()))).scalars()
    by_id = {sub.id: sub for sub in rows}
    return _project([by_id[i] for i in ids if i in by_id])


def _project(subs: list[Submission], *, initiative_id: int | None = None) -> list[PublicView]:
    """Published rows as public objects. `initiative_id`: a campaign's copies are counted on that
    initiative only (its page lists them), otherwise on every initiative.

    Private: only this module's queries, each selecting with `published()`, hand it rows.
    """
    tokens = mask_tokens()
    copies = published_copies({s.campaign_id for s in subs if s.campaign_id is not None}, initiative_id=initiative_id)
    supporters = supporter_counts((s.id, s.campaign_id) for s in subs)
    return [
        PublicView(
            id=sub.id,
            reference=sub.reference,
            created_at=sub.created_at,
            language=sub.language,
            text=published_text(sub, placeholders=tokens),
            area=_area(sub),
            initiative=_initiative(sub),
            answers=_answers(sub, tokens),
            copies=copies.get(sub.campaign_id, 1) if sub.campaign_id is not None else 1,
            supporters=supporters.get(sub.id, 0),
        )
        for sub in subs
    ]


def tracked(sub: Submission) -> TrackedView:
    """The tracking page's view of `sub`, whatever its state (the secret link was checked)."""
    tokens = mask_tokens()
    return TrackedView(
        reference=sub.reference,
        created_at=sub.created_at,
        status=sub.status,
        visibility=sub.visibility,
        text=published_text(sub, placeholders=tokens),
        area=_area(sub),
        initiative=_initiative(sub),
        bureau_code=sub.bureau_code,
        answers=_answers(sub, tokens),
        history=tuple(
            PublicEvent(e.created_at, e.action)
            for e in workflow.history(sub)
            if e.action not in workflow.INTERNAL_EVENTS
        ),
    )


def _area(sub: Submission) -> AreaRef:
    area = sub.topic_area
    return AreaRef(area.code, area.name_en, area.name_zh)


def _initiative(sub: Submission) -> InitiativeRef | None:
    i = sub.initiative
    return InitiativeRef(i.id, i.code, i.area_code, i.title_en, i.title_zh) if i is not None else None


def _answers(sub: Submission, tokens: dict[str, str]) -> tuple[PublicAnswer, ...]:
    return tuple(PublicAnswer(a.bureau_code, redact(a.body, placeholders=tokens), a.created_at) for a in sub.answers)


def published_copies(campaign_ids: set[int], *, initiative_id: int | None = None) -> dict[int, int]:
    """How many published copies each campaign has, on the initiative if one is given."""
    if not campaign_ids:
        return {}
    where = _published_on(initiative_id) if initiative_id is not None else [published()]
    rows = db.session.execute(
        select(Submission.campaign_id, func.count())
        .where(Submission.campaign_id.in_(campaign_ids), *where)
        .group_by(Submission.campaign_id)
    )
    return {campaign_id: count for campaign_id, count in rows}


def supporter_counts(views: Iterable[tuple[int, int | None]]) -> dict[int, int]:
    """How many supporters each view (id, campaign id) has: over its campaign's copies when it
    stands for one, each supporter once."""
    views = list(views)
    singles = [view_id for view_id, campaign_id in views if campaign_id is None]
    campaigns = {campaign_id for _, campaign_id in views if campaign_id is not None}
    result: dict[int, int] = {}
    if singles:
        rows = db.session.execute(
            select(Support.submission_id, func.count())
            .where(Support.submission_id.in_(singles))
            .group_by(Support.submission_id)
        )
        result.update({view_id: count for view_id, count in rows})
    if campaigns:
        rows = db.session.execute(
            select(Submission.campaign_id, func.count(func.distinct(Support.supporter_hash)))
            .join(Support, Support.submission_id == Submission.id)
            .where(Submission.campaign_id.in_(campaigns))
            .group_by(Submission.campaign_id)
        )
        by_campaign: dict[int, int] = {campaign_id: count for campaign_id, count in rows}
        result.update(
            {view_id: by_campaign[campaign_id] for view_id, campaign_id in views if campaign_id in by_campaign}
        )
    return result


def tally(initiative_id: int) -> Tally:
    """The initiative's published views counted as `listing` shows them."""
    entry = func.coalesce(-Submission.campaign_id, Submission.id)
    per_entry = select(func.count().label("copies")).where(*_published_on(initiative_id)).group_by(entry).subquery()
    views, entries, campaigns = db.session.execute(
        select(
            func.coalesce(func.sum(per_entry.c.copies), 0),
            func.count(),
            func.count().filter(per_entry.c.copies > 1),
        )
    ).one()
    supports = (
        select(entry.label("entry"), Support.supporter_hash)
        .distinct()
        .join(Support, Support.submission_id == Submission.id)
        .where(*_published_on(initiative_id))
        .subquery()
    )
    supporters = db.session.execute(select(func.count()).select_from(supports)).scalar_one()
    return Tally(int(views), entries, campaigns, supporters)
