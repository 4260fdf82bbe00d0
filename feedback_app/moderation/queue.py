"""The review queue at volume: its order, its filters, its pages and its counts.

Built to stay fast at a million stored views when the backlog is the newest rows:
- every order is an index range: partial indexes hold only what awaits review
  (migrations/versions/0009_queue_at_volume.py), keyed (sort key, id);
- pages are cut by keyset on (sort key, id). The link carries only the last id on the page;
  its sort key is read back by primary key inside the page's own statement (one round trip), so
  a link stays short and cannot be forged into an expensive query;
- decided views (ordered by id) are picked by id alone first, then read: see _by_id_first;
- a text search for a common word walks the ordered backlog and tests each row's stored
  document, a rare one asks the GIN index (see _walk_statement);
- a list loads only what it shows, and an excerpt of the text rather than all of it;
- counts are exact over the backlog (one pass over a partial index) and capped elsewhere.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, fields, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache

from cachetools import TLRUCache
from flask import current_app
from sqlalchemy import Integer, bindparam, func, literal_column, or_, select, tuple_
from sqlalchemy.engine import Row
from sqlalchemy.orm import aliased

from ..extensions import db
from ..kernel import search, workflow
from ..kernel.models import Submission, User
from ..kernel.triage import BANDS, Band, Priority
from ..text import abuse
from ..web.pagination import KeysetPage

# What awaits review (workflow.AWAITING_REVIEW), in the form the partial indexes match.
IN_QUEUE = workflow.awaiting_review()
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
        return self.status is None or self.status in workflow.AWAITING_REVIEW

    @property
    def narrowed(self) -> bool:
        """Whether anything beyond the order is chosen (for the empty-state message)."""
        return any(getattr(self, f.name) for f in fields(self) if f.name not in ("sort", "campaigns_once"))


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def conditions(filters: QueueFilter, *, with_text: bool = True) -> list:
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
    if filters.until and filters.until < date.max:  # "until 9999-12-31" has no day after it
        where.append(Submission.created_at < _start_of(filters.until + timedelta(days=1)))
    if filters.in_backlog and filters.campaigns_once and not filters.narrowed:
        # Filtered, every matching copy is listed (each with its campaign's size): a campaign's
        # first waiting copy may well not match what the moderator is looking for.
        where.append(FIRST_WAITING_COPY)
    if filters.text and with_text:
        matching = search.matching(filters.text, db.engine.dialect.name)
        if matching is not None:
            where.append(matching)
    return where


def _first_waiting_copy_condition():
    """Not a copy in a campaign, or its campaign's first copy still waiting for review."""
    copy = aliased(Submission, name="copy")
    first = (
        select(func.min(copy.id))
        .where(copy.campaign_id == Submission.campaign_id, workflow.awaiting_review(copy))
        .scalar_subquery()
    )
    return or_(Submission.campaign_id.is_(None), Submission.id == first)


# Built once: SQLAlchemy caches a statement's SQL by its shape, but a new alias on every page
# made each page's statement new to it (about 6 ms of compiling per page).
FIRST_WAITING_COPY = _first_waiting_copy_condition()


def _sort_key(filters: QueueFilter, entity=Submission) -> list:
    if not filters.in_backlog or filters.sort == Sort.AGE:
        # Decided views need nobody: "most in need" is simply by age there (and only the
        # backlog's indexes hold the other orders).
        return [entity.id]
    if filters.sort == Sort.CONFIDENCE:
        return [func.coalesce(entity.predicted_bureau_p, literal_column("-1")), entity.id]
    return [entity.review_priority, entity.id]


# What a list shows, and no more: plain rows, not model objects (building fifty of those, with
# their identity map and change tracking, cost more than the query itself).
LISTED = (
    Submission.id,
    Submission.reference,
    Submission.created_at,
    Submission.initiative_id,
    Submission.topic_area_code,
    Submission.language,
    Submission.status,
    Submission.flags,
    Submission.predicted_bureau_code,
    Submission.predicted_bureau_p,
    Submission.version,
    Submission.held_by_id,
    Submission.held_at,
    Submission.campaign_id,
    Submission.sent_back_by_code,
    Submission.suggested_bureau_code,
    User.display_name.label("held_by_name"),
    func.substr(Submission.body, 1, EXCERPT_CHARACTERS).label("excerpt"),
)


# The view a page link continues after (an alias: the page's own rows must not be correlated in).
# Made once, as FIRST_WAITING_COPY's is, so that SQLAlchemy's statement cache knows it again.
LAST = aliased(Submission, name="last")
AFTER = bindparam("after", type_=Integer)


def _after(filters: QueueFilter):
    """Past the view whose id is bound as `after`, in the list's order. Its sort key is read by
    primary key in a subquery of the same statement: no round trip of its own."""
    key = _sort_key(filters)
    if len(key) == 1:
        return Submission.id > AFTER
    return tuple_(*key) > select(*_sort_key(filters, LAST)).where(LAST.id == AFTER).scalar_subquery()


def statement(filters: QueueFilter, *, after: int | None, size: int, walk: bool = False):
    """The query for one page: `size` + 1 rows, the last only telling whether more follow.
    `walk`: the walk of the list's order for a common search word (_walk_statement)."""
    stmt = _statement(filters, after is not None, size, db.engine.dialect.name, walk)
    return stmt if after is None else stmt.params(after=after)


# Statements are made once per filter and page size, the link's id bound at execution: building
# one, and SQLAlchemy deriving its cache key, cost a third of a page's time (a walk's subquery, with
# its proxied columns, as much as its query). A filter's values are part of it (the key here),
# so the number kept is bounded.
@lru_cache(maxsize=512)
def _statement(filters: QueueFilter, paged: bool, size: int, dialect: str, walk: bool):
    if walk:
        return _walk_statement(filters, paged, size, dialect)
    key = _sort_key(filters)
    where = conditions(filters) + ([_after(filters)] if paged else [])
    if not filters.in_backlog:
        where = [_by_id_first(where, size)]
    return (
        select(*LISTED).outerjoin(User, User.id == Submission.held_by_id).where(*where).order_by(*key).limit(size + 1)
    )


def _by_id_first(where: list, size: int):
    """Decided views are listed by id, filtered by columns an index (status, column, id) holds,
    e.g. ix_submission_bureau_status_id. Asked for every listed column at once, PostgreSQL walks the
    primary key instead and skips rows until enough match, on the assumption that matches are
    spread evenly through the table; they rarely are (a bureau's views come in runs) and it read
    38,000 rows for one page. Picking the ids first needs no row at all: an index-only scan reads
    exactly the page's entries; only those rows are then read by primary key."""
    return Submission.id.in_(select(Submission.id).where(*where).order_by(Submission.id).limit(size + 1))


# A common search walks at most this many views of the list's order before the GIN index answers.
WALK_ROWS = 2000


def walks(filters: QueueFilter, size: int) -> bool:
    """Whether this text search should walk the ordered backlog rather than ask the GIN index:
    only if a page's worth of matches is likely within WALK_ROWS views (by PostgreSQL's own
    statistics of the words; search.share), twice over."""
    if not filters.text or not filters.in_backlog:
        return False
    share = search.share(filters.text, db.engine.dialect.name)
    return share is not None and share * WALK_ROWS >= 2 * (size + 1)


def _walk_statement(filters: QueueFilter, paged: bool, size: int, dialect: str):
    """A page of a text search for a common word, by walking the list's order (PostgreSQL).

    PostgreSQL's planner takes a common Chinese phrase (升降機, in one view of seven) for a rare
    one: it multiplies its characters' shares as if independent. So it reads every match out of
    the GIN index (7,000 rows), then sorts them, where walking the backlog in order and testing
    each row's stored document finds a page in ~350 rows. The walk is written so that no estimate
    can undo it: the window (the first WALK_ROWS views of the list, by its ordered index; a LIMIT
    cannot be flattened away) is read in order and the text tested on its rows; the outer LIMIT
    stops the walk as soon as the page is full. If the window holds less than a page of matches,
    page() asks the usual statement (the GIN index) instead."""
    key = _sort_key(filters)
    where = conditions(filters, with_text=False) + ([_after(filters)] if paged else [])
    listed = [c for c in LISTED if c.name != "held_by_name"]
    window = (
        select(
            *listed,
            *(k.label(f"sort_{i}") for i, k in enumerate(key)),
            literal_column(search.PG_DOCUMENT).label("search_document"),
        )
        .where(*where)
        .order_by(*key)
        .limit(WALK_ROWS)
        .subquery("window")
    )
    return (
        select(*(window.c[c.name] for c in listed), User.display_name.label("held_by_name"))
        .outerjoin(User, User.id == window.c.held_by_id)
        .where(search.matching(filters.text, dialect, document=window.c.search_document))
        .order_by(*(window.c[f"sort_{i}"] for i in range(len(key))))
        .limit(size + 1)
    )


def page(filters: QueueFilter, *, after: int | None, size: int) -> KeysetPage[Row]:
    """One page of the queue: rows with the LISTED columns."""
    dialect, bound = db.engine.dialect.name, {} if after is None else {"after": after}
    rows = None
    if walks(filters, size):
        rows = db.session.execute(_statement(filters, after is not None, size, dialect, True), bound).all()
        if len(rows) <= size:  # the window ended before the page did
            rows = None
    if rows is None:
        rows = db.session.execute(_statement(filters, after is not None, size, dialect, False), bound).all()
    if not rows and after is not None and db.session.get(Submission, after) is None:
        # The link's view was deleted since (a resident erased their data): start again.
        return page(filters, after=None, size=size)
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
        select(Submission.id).where(IN_QUEUE, FIRST_WAITING_COPY, Submission.id != current_id).order_by(*key).limit(1)
    ).scalar_one_or_none()


@dataclass(frozen=True)
class Count:
    value: int
    capped: bool  # True: at least `value`


def matching_count(filters: QueueFilter) -> Count:
    """How many views match (each copy of a campaign counted), exactly up to COUNT_CAP (a LIMIT
    inside the count keeps it cheap)."""
    n = db.session.execute(matching_count_statement(filters)).scalar_one()
    return Count(min(n, COUNT_CAP), n > COUNT_CAP)


def matching_count_statement(filters: QueueFilter):
    limited = (
        select(Submission.id).where(*conditions(replace(filters, campaigns_once=False))).limit(COUNT_CAP + 1).subquery()
    )
    return select(func.count()).select_from(limited)


@dataclass(frozen=True)
class BacklogCounts:
    """How many views await review, by each thing the queue filters on."""

    total: int
    by_bureau: dict[str, int]
    by_area: dict[str, int]
    by_language: dict[str, int]
    by_band: dict[str, int]
    flagged: int


# Keyed by (database, QUEUE_COUNTS_SECONDS): each entry lives as long as its key says.
_counted: TLRUCache[tuple[str, float], BacklogCounts] = TLRUCache(maxsize=16, ttu=lambda key, value, now: now + key[1])
_counted_lock = threading.Lock()


def backlog_counts() -> BacklogCounts:
    """The backlog's counts, at most QUEUE_COUNTS_SECONDS old: they label the filters, where a
    moment old is fine, and one pass over a large backlog costs more than the page itself."""
    key = (str(db.engine.url), current_app.config["QUEUE_COUNTS_SECONDS"])
    with _counted_lock:
        counts = _counted.get(key)
    if counts is None:
        counts = count_backlog()
        with _counted_lock:
            _counted[key] = counts
    return counts


def count_backlog() -> BacklogCounts:
    """One pass over the backlog's facet index, however large the rest of the table is.

    Grouped by the index's leading columns, in its order, so PostgreSQL aggregates as it reads
    (no hash table, no sort); the bands are counts FILTERed by confidence, not one more group key
    (a CASE per row to hash: a third of the time). It still reads one index entry per view
    awaiting review: at 50,000 that is ~10 ms, which no index can make as cheap as reading the 50
    of a page; a plain count(*) of the backlog costs two thirds of it. Hence the cache above."""
    banded = BANDED
    rows = db.session.execute(count_backlog_statement()).all()
    by_bureau, by_area, by_language, by_band = {}, {}, {}, {}
    total = flagged = 0
    for bureau, area, language, priority, n, *below in rows:
        total += n
        flagged += n if priority == Priority.FLAGGED else 0
        for facet, value in ((by_bureau, bureau), (by_area, area), (by_language, language)):
            if value is not None:
                facet[value] = facet.get(value, 0) + n
        for band, count in zip([*banded, Band.HIGH], _differences([0, *below, n]), strict=True):
            if count:
                by_band[band.value] = by_band.get(band.value, 0) + count
    return BacklogCounts(total, by_bureau, by_area, by_language, by_band, flagged)


BANDED = [b for b in BANDS if b != Band.HIGH]  # in order: each band below the next's bound


def count_backlog_statement():
    facets = (
        Submission.predicted_bureau_code,
        Submission.predicted_area_code,
        Submission.language,
        Submission.review_priority,
    )
    return (
        select(
            *facets,
            func.count(),
            *(func.count().filter(literal_column(repr(BANDS[b][1])) > CONFIDENCE_KEY) for b in BANDED),
        )
        .where(IN_QUEUE)
        .group_by(*facets)
    )


def _differences(cumulative: list[int]) -> list[int]:
    return [b - a for a, b in zip(cumulative, cumulative[1:], strict=False)]


def overdue_before(target_hours: float) -> datetime:
    """Views received before this moment are past the service target for a first decision."""
    return datetime.now(UTC) - timedelta(hours=target_hours)
