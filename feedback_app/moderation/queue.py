"""The review queue at volume: its order, its filters, its pages and its counts.

Built to stay fast at a million stored views when the backlog is the newest rows:
- every order is an index range: partial indexes hold only what awaits review
  (migrations/versions/0009_queue_at_volume.py), keyed (sort key, id);
- pages are cut by keyset on (sort key, id). The link carries only the last id on the page;
  its sort key is read back by primary key, so a link stays short and cannot be forged into
  an expensive query;
- a list loads only what it shows, and an excerpt of the text rather than all of it;
- counts are exact over the backlog (one pass over a partial index) and capped elsewhere.
"""
from __future__ import annotations

import time as clock
from dataclasses import dataclass, fields, replace
from datetime import date, datetime, time, timedelta, timezone
from enum import StrEnum

from flask import current_app
from sqlalchemy import bindparam, case, func, literal_column, or_, select, tuple_
from sqlalchemy.orm import aliased
from sqlalchemy.engine import Row

from .. import abuse, search
from ..extensions import db
from ..models import Status, Submission, User
from ..pagination import KeysetPage
from ..triage import BANDS, Band, Priority

# "received" is listed too: a submission whose routing could not even be recorded waits there.
QUEUE_STATUSES = (Status.NEEDS_REVIEW, Status.RECEIVED)
# Written into the SQL as constants, not bound values: only then can either database prove that
# a query lies inside the partial indexes on the backlog (migration 0009).
IN_QUEUE = Submission.status.in_([bindparam(None, s.value, literal_execute=True) for s in QUEUE_STATUSES])
EXCERPT_CHARACTERS = 160
# Past this many matches a count says "more than"; counting a million rows exactly for a label
# would cost more than the page it labels.
COUNT_CAP = 10_000


class Sort(StrEnum):
    PRIORITY = "priority"  # flagged, then low confidence, then the rest; oldest first in each
    AGE = "age"  # oldest first
    CONFIDENCE = "confidence"  # least sure first


# The very expression the confidence index is built on (migration 0009): no prediction sorts first.
CONFIDENCE_KEY = func.coalesce(Submission.predicted_bureau_p, literal_column("-1"))


@dataclass(frozen=True)
class QueueFilter:
    status: str | None = None  # None = the review queue (needs review + received)
    area: str | None = None  # predicted smart area
    bureau: str | None = None  # predicted bureau
    final_bureau: str | None = None  # the bureau it is routed to now
    initiative: int | None = None
    language: str | None = None
    visibility: str | None = None  # e.g. "pending": views still waiting for a publication decision
    flag: str | None = None  # "any", or one abuse.Flag code
    band: str | None = None  # a triage.Band
    since: date | None = None  # received on or after this day (UTC)
    until: date | None = None  # received on or before this day (UTC)
    text: str | None = None  # words the view contains
    sort: Sort = Sort.PRIORITY
    # A campaign's copies listed once, at the first still waiting (decisions apply to them all).
    campaigns_once: bool = True

    @property
    def in_backlog(self) -> bool:
        return self.status is None or self.status in QUEUE_STATUSES

    @property
    def narrowed(self) -> bool:
        """Whether anything beyond the order is chosen (for the empty-state message)."""
        return any(getattr(self, f.name) for f in fields(self) if f.name not in ("sort", "campaigns_once"))


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.utc)


def conditions(filters: QueueFilter) -> list:
    where = [Submission.status == filters.status] if filters.status else [IN_QUEUE]
    for value, column in (
        (filters.area, Submission.predicted_area_code),
        (filters.bureau, Submission.predicted_bureau_code),
        (filters.final_bureau, Submission.bureau_code),
        (filters.initiative, Submission.initiative_id),
        (filters.language, Submission.language),
        (filters.visibility, Submission.visibility),
    ):
        if value:
            where.append(column == value)
    if filters.flag and filters.in_backlog:
        # In the backlog a flagged view is exactly one of the first group: a range of its index.
        where.append(Submission.review_priority == Priority.FLAGGED)
    if filters.flag == "any":
        where.append(Submission.flags != "")
    elif filters.flag in set(abuse.Flag):
        where.append(Submission.flags.contains(filters.flag, autoescape=True))
    if filters.band in set(Band):
        low, high = BANDS[Band(filters.band)]
        confidence = CONFIDENCE_KEY if filters.band == Band.LOW else Submission.predicted_bureau_p
        where += [confidence < high] if filters.band == Band.LOW else [confidence >= low, confidence < high]
    if filters.since:
        where.append(Submission.created_at >= _start_of(filters.since))
    if filters.until:
        where.append(Submission.created_at < _start_of(filters.until + timedelta(days=1)))
    if filters.in_backlog and filters.campaigns_once and not filters.narrowed:
        # Filtered, every matching copy is listed (each with its campaign's size): a campaign's
        # first waiting copy may well not match what the moderator is looking for.
        where.append(FIRST_WAITING_COPY)
    if filters.text:
        matching = search.matching(filters.text, db.engine.dialect.name)
        if matching is not None:
            where.append(matching)
    return where


def _first_waiting_copy_condition():
    """Not a copy in a campaign, or its campaign's first copy still waiting for review."""
    copy = aliased(Submission, name="copy")
    first = (
        select(func.min(copy.id))
        .where(copy.campaign_id == Submission.campaign_id,
               copy.status.in_([bindparam(None, s.value, literal_execute=True) for s in QUEUE_STATUSES]))
        .scalar_subquery()
    )
    return or_(Submission.campaign_id.is_(None), Submission.id == first)


# Built once: SQLAlchemy caches a statement's SQL by its shape, but a new alias on every page
# made each page's statement new to it (about 6 ms of compiling per page).
FIRST_WAITING_COPY = _first_waiting_copy_condition()


def _sort_key(filters: QueueFilter) -> list:
    if not filters.in_backlog or filters.sort == Sort.AGE:
        # Decided views need nobody: "most in need" is simply by age there (and only the
        # backlog's indexes hold the other orders).
        return [Submission.id]
    if filters.sort == Sort.CONFIDENCE:
        return [CONFIDENCE_KEY, Submission.id]
    return [Submission.review_priority, Submission.id]


# What a list shows, and no more: plain rows, not model objects (building fifty of those, with
# their identity map and change tracking, cost more than the query itself).
LISTED = (
    Submission.id, Submission.reference, Submission.created_at, Submission.initiative_id,
    Submission.topic_area_code, Submission.language, Submission.status, Submission.flags,
    Submission.predicted_bureau_code, Submission.predicted_bureau_p, Submission.version,
    Submission.held_by_id, Submission.held_at, Submission.campaign_id, User.display_name.label("held_by_name"),
    func.substr(Submission.body, 1, EXCERPT_CHARACTERS).label("excerpt"),
)


def statement(filters: QueueFilter, *, after: int | None, size: int):
    """The query for one page: `size` + 1 rows, the last only telling whether more follow."""
    key = _sort_key(filters)
    stmt = (
        select(*LISTED).outerjoin(User, User.id == Submission.held_by_id).where(*conditions(filters))
    )
    if after is not None:
        last = db.session.execute(select(*key).where(Submission.id == after)).one_or_none()
        if last is not None:
            stmt = stmt.where(tuple_(*key) > tuple_(*last) if len(key) > 1 else key[0] > after)
    return stmt.order_by(*key).limit(size + 1)


def page(filters: QueueFilter, *, after: int | None, size: int) -> KeysetPage[Row]:
    """One page of the queue: rows with the LISTED columns."""
    rows = db.session.execute(statement(filters, after=after, size=size)).all()
    has_more = len(rows) > size
    items = rows[:size]
    return KeysetPage(items, items[-1].id if has_more else None, after is None)


def newest_id() -> int:
    """The newest view's id (0 when there is none): what "every view matching" meant then."""
    return db.session.execute(select(func.max(Submission.id))).scalar_one() or 0


def next_for_review(current_id: int) -> int | None:
    """The view a moderator should open after this one: the first other view the queue lists."""
    key = _sort_key(QueueFilter())
    return db.session.execute(
        select(Submission.id).where(IN_QUEUE, FIRST_WAITING_COPY, Submission.id != current_id)
        .order_by(*key).limit(1)
    ).scalar_one_or_none()


@dataclass(frozen=True)
class Count:
    value: int
    capped: bool  # True: at least `value`


def matching_count(filters: QueueFilter) -> Count:
    """How many views match (each copy of a campaign counted), exactly up to COUNT_CAP (a LIMIT
    inside the count keeps it cheap)."""
    limited = select(Submission.id).where(*conditions(replace(filters, campaigns_once=False))).limit(COUNT_CAP + 1).subquery()
    n = db.session.execute(select(func.count()).select_from(limited)).scalar_one()
    return Count(min(n, COUNT_CAP), n > COUNT_CAP)


@dataclass(frozen=True)
class BacklogCounts:
    """How many views await review, by each thing the queue filters on."""

    total: int
    by_bureau: dict[str, int]
    by_area: dict[str, int]
    by_language: dict[str, int]
    by_band: dict[str, int]
    flagged: int


_counted: dict[str, tuple[float, BacklogCounts]] = {}


def backlog_counts() -> BacklogCounts:
    """The backlog's counts, at most QUEUE_COUNTS_SECONDS old: they label the filters, where a
    moment old is fine, and one pass over a large backlog costs more than the page itself."""
    key = str(db.engine.url)
    cached = _counted.get(key)
    if cached is None or clock.monotonic() - cached[0] >= current_app.config["QUEUE_COUNTS_SECONDS"]:
        cached = (clock.monotonic(), count_backlog())
        _counted[key] = cached
    return cached[1]


def count_backlog() -> BacklogCounts:
    """One pass over the backlog's facet index, however large the rest of the table is."""
    band = case(
        *((CONFIDENCE_KEY < literal_column(repr(high)), b.value) for b, (_low, high) in BANDS.items() if b != Band.HIGH),
        else_=Band.HIGH.value,
    ).label("band")
    facets = (Submission.predicted_bureau_code, Submission.predicted_area_code, Submission.language,
              Submission.review_priority)
    rows = db.session.execute(
        # Grouped by the label: the CASE written twice would differ in its bound values on PostgreSQL.
        select(*facets, band, func.count()).where(IN_QUEUE)
        .group_by(*facets, literal_column("band"))
    ).all()
    by_bureau, by_area, by_language, by_band = {}, {}, {}, {}
    total = flagged = 0
    for bureau, area, language, priority, band_value, n in rows:
        total += n
        flagged += n if priority == Priority.FLAGGED else 0
        for facet, value in ((by_bureau, bureau), (by_area, area), (by_language, language), (by_band, band_value)):
            if value is not None:
                facet[value] = facet.get(value, 0) + n
    return BacklogCounts(total, by_bureau, by_area, by_language, by_band, flagged)


def overdue_before(target_hours: float) -> datetime:
    """Views received before this moment are past the service target for a first decision."""
    return datetime.now(timezone.utc) - timedelta(hours=target_hours)
