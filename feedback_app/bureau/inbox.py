"""A bureau's inbox at volume: its tabs, filters, orders, pages and counts.

Every list starts from what the officer's bureau may see (`tab_condition`): views it owns, by
state; views another bureau invited it to answer jointly; views it sent back while they wait for
a moderator. Nothing else is reachable from here, whatever the filters say.

Built as the review queue is (moderation/queue.py), for a bureau with 50,000 views among a million:
- each tab is an index range: (bureau_code, status, due_at, id), (assigned_to_id, status, due_at,
  id), (sent_back_by_code, id) — migration 0019;
- pages are cut by keyset on (sort key, id); the link carries the last id only, its sort key read
  back by primary key inside the page's own statement;
- a list loads only the columns it shows and an excerpt of the text;
- a campaign is listed once, at its first copy in the tab, with how many copies the tab holds.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache

from sqlalchemy import ColumnElement, Integer, and_, bindparam, func, literal_column, or_, select, tuple_
from sqlalchemy.engine import Row
from sqlalchemy.orm import aliased

from ..extensions import db
from ..kernel import search, workflow
from ..kernel.deadlines import HONG_KONG
from ..kernel.models import JointBureau, Status, Submission, User, UTCDateTime
from ..web.pagination import KeysetPage

EXCERPT_CHARACTERS = 160


class Tab(StrEnum):
    NEW = "new"  # routed to the bureau, nobody has it yet
    MINE = "mine"  # the officer has it, not yet answered
    IN_PROGRESS = "in_progress"  # an officer of the bureau has it
    JOINT = "joint"  # another bureau's view this bureau was invited to answer with it
    SENT_BACK = "sent_back"  # sent back by this bureau, waiting for a moderator
    ANSWERED = "answered"
    CLOSED = "closed"
    ALL = "all"  # every view the bureau owns


class Sort(StrEnum):
    DUE = "due"  # soonest due first (overdue ones first of all)
    OLDEST = "oldest"
    NEWEST = "newest"


# Tabs whose views have no due date (they are not the bureau's to answer now): ordered by arrival.
UNDATED = frozenset({Tab.SENT_BACK})
NOBODY = 0  # the assignee filter's value for "nobody yet"


@dataclass(frozen=True)
class InboxFilter:
    tab: Tab = Tab.NEW
    initiative: int | None = None
    area: str | None = None  # the smart area it is routed under
    campaign: int | None = None
    language: str | None = None
    assignee: int | None = None  # an officer's id, or NOBODY
    overdue: bool = False
    since: date | None = None  # routed on or after this day (Hong Kong)
    until: date | None = None  # routed on or before this day (Hong Kong)
    text: str | None = None
    sort: Sort = Sort.DUE

    @property
    def narrowed(self) -> bool:
        """Whether anything beyond the tab and order is chosen (for the empty state and campaigns)."""
        return any(getattr(self, f.name) for f in fields(self) if f.name not in ("tab", "sort"))

    @property
    def by_arrival(self) -> bool:
        return self.sort != Sort.DUE or self.tab in UNDATED


def _hk_start(day: date) -> datetime:
    try:
        return datetime.combine(day, time.min, tzinfo=HONG_KONG).astimezone(UTC)
    except OverflowError:  # the first day of year 1 in Hong Kong began before UTC's calendar does
        return datetime.min.replace(tzinfo=UTC)


def tab_condition(tab: Tab, bureau: str, officer_id: int) -> ColumnElement[bool]:
    """The views of `tab` for an officer of `bureau`: the only road into the inbox."""
    return and_(*in_tab(Submission, tab, bureau, officer_id))


# The moment "overdue" is judged against, bound when a cached page statement runs (see page()).
NOW = bindparam("now", type_=UTCDateTime)


def conditions(
    filters: InboxFilter, bureau: str, officer_id: int, *, now: datetime | None
) -> list[ColumnElement[bool]]:
    """The SQL conditions of the tab and filters. `now`: when "overdue" is judged; None leaves it
    to be bound at execution as `now` (the cached page statements)."""
    where = [tab_condition(filters.tab, bureau, officer_id)]
    for value, column in (
        (filters.initiative, Submission.initiative_id),
        (filters.area, Submission.area_code),
        (filters.campaign, Submission.campaign_id),
        (filters.language, Submission.language),
    ):
        if value:
            where.append(column == value)
    if filters.assignee == NOBODY:
        where.append(Submission.assigned_to_id.is_(None))
    elif filters.assignee:
        where.append(Submission.assigned_to_id == filters.assignee)
    if filters.overdue:
        where += [workflow.awaiting_answer(), Submission.due_at < (NOW if now is None else now)]
    if filters.since:
        where.append(Submission.routed_at >= _hk_start(filters.since))
    if filters.until and filters.until < date.max:
        where.append(Submission.routed_at < _hk_start(filters.until + timedelta(days=1)))
    if filters.text:
        matching = search.matching(filters.text, db.engine.dialect.name)
        if matching is not None:
            where.append(matching)
    return where


def sort_key(filters: InboxFilter, entity=Submission) -> list:
    if filters.by_arrival:
        return [entity.id.desc() if filters.sort == Sort.NEWEST else entity.id]
    return [entity.due_at, entity.id]


Assignee = aliased(User, name="assignee")

LISTED = (
    Submission.id,
    Submission.reference,
    Submission.created_at,
    Submission.routed_at,
    Submission.due_at,
    Submission.status,
    Submission.language,
    Submission.initiative_id,
    Submission.topic_area_code,
    Submission.bureau_code,
    Submission.campaign_id,
    Submission.assigned_to_id,
    Submission.sent_back_by_code,
    Submission.suggested_bureau_code,
    Submission.flags,
    Assignee.display_name.label("assignee_name"),
    func.substr(Submission.body, 1, EXCERPT_CHARACTERS).label("excerpt"),
)

LAST = aliased(Submission, name="last")
AFTER = bindparam("after", type_=Integer)


def _after(filters: InboxFilter) -> ColumnElement[bool]:
    if filters.by_arrival:
        return Submission.id < AFTER if filters.sort == Sort.NEWEST else Submission.id > AFTER
    last_key = select(LAST.due_at, LAST.id).where(LAST.id == AFTER).scalar_subquery()
    return tuple_(Submission.due_at, Submission.id) > last_key


# Page statements are built once per filter, officer and page size, and bound at execution (the
# link's id, the moment): building one cost more than running it (python -m bench inbox).
@lru_cache(maxsize=512)
def statement(filters: InboxFilter, bureau: str, officer_id: int, *, paged: bool, size: int, dialect: str):
    where = conditions(filters, bureau, officer_id, now=None)
    if not filters.campaign:
        where.append(_first_copy(filters, bureau, officer_id))
    if paged:
        where.append(_after(filters))
    return (
        select(*LISTED)
        .outerjoin(Assignee, Assignee.id == Submission.assigned_to_id)
        .where(*where)
        .order_by(*sort_key(filters))
        .limit(size + 1)
    )


# Built once: a new alias on every page made each page's statement new to SQLAlchemy's cache
# (8-10 ms of building and compiling per page, measured by python -m bench inbox).
COPY = aliased(Submission, name="copy")


def _first_copy(filters: InboxFilter, bureau: str, officer_id: int) -> ColumnElement[bool]:
    same_tab = in_tab(COPY, filters.tab, bureau, officer_id)
    first = select(func.min(COPY.id)).where(COPY.campaign_id == Submission.campaign_id, *same_tab).scalar_subquery()
    return or_(Submission.campaign_id.is_(None), Submission.id == first)


def in_tab(view: workflow.View, tab: Tab, bureau: str, officer_id: int) -> list[ColumnElement[bool]]:
    """The conditions of `tab` on `view` (the submission table, or an alias of it: a campaign's
    other copies)."""
    owned = view.bureau_code == bureau
    if tab == Tab.NEW:
        return [owned, view.status == Status.ROUTED]
    if tab == Tab.MINE:
        return [view.assigned_to_id == officer_id, owned, workflow.awaiting_answer(view)]
    if tab == Tab.IN_PROGRESS:
        return [owned, view.status == Status.IN_PROGRESS]
    if tab == Tab.JOINT:
        invited = select(JointBureau.submission_id).where(JointBureau.bureau_code == bureau)
        return [view.id.in_(invited), view.status.in_(workflow.WITH_A_BUREAU)]
    if tab == Tab.SENT_BACK:
        return [view.sent_back_by_code == bureau, workflow.awaiting_review(view)]
    if tab in (Tab.ANSWERED, Tab.CLOSED):
        return [owned, view.status == Status(tab.value)]
    return [owned, view.status.in_(workflow.WITH_A_BUREAU)]


# A common text search walks at most this many views of the tab's order before the GIN index answers.
WALK_ROWS = 2000


def walks(filters: InboxFilter, size: int) -> bool:
    """Whether this text search should walk the tab's order rather than ask the GIN index (as the
    review queue does, moderation/queue.py): only if a page's worth of matches is likely within
    WALK_ROWS views, by PostgreSQL's own statistics of the words (search.share), twice over."""
    if not filters.text:
        return False
    share = search.share(filters.text, db.engine.dialect.name)
    return share is not None and share * WALK_ROWS >= 2 * (size + 1)


@lru_cache(maxsize=512)
def walk_statement(filters: InboxFilter, bureau: str, officer_id: int, *, paged: bool, size: int, dialect: str):
    """A page of a text search for a common word (PostgreSQL), by walking the tab in its order and
    testing each row's stored document. The planner takes a common Chinese phrase (升降機, in one
    view of seven) for a rare one and reads all 140,000 matches from the GIN index (390 ms at a
    million views); the walk finds a page in ~230 rows (a window the planner cannot flatten)."""
    where = conditions(replace(filters, text=None), bureau, officer_id, now=None)
    if not filters.campaign:
        where.append(_first_copy(filters, bureau, officer_id))
    if paged:
        where.append(_after(filters))
    listed = [c for c in LISTED if c.name != "assignee_name"]
    window = (
        select(*listed, literal_column(search.PG_DOCUMENT).label("search_document"))
        .where(*where)
        .order_by(*sort_key(filters))
        .limit(WALK_ROWS)
        .subquery("window")
    )
    if filters.by_arrival:
        order = [window.c.id.desc() if filters.sort == Sort.NEWEST else window.c.id]
    else:
        order = [window.c.due_at, window.c.id]
    return (
        select(*(window.c[c.name] for c in listed), Assignee.display_name.label("assignee_name"))
        .outerjoin(Assignee, Assignee.id == window.c.assigned_to_id)
        .where(search.matching(filters.text or "", dialect, document=window.c.search_document))
        .order_by(*order)
        .limit(size + 1)
    )


def page(filters: InboxFilter, bureau: str, officer_id: int, *, after: int | None, size: int, now: datetime):
    dialect = db.engine.dialect.name
    bound: dict[str, object] = {} if after is None else {"after": after}
    if filters.overdue:
        bound["now"] = now
    rows = None
    if walks(filters, size):
        stmt = walk_statement(filters, bureau, officer_id, paged=after is not None, size=size, dialect=dialect)
        rows = db.session.execute(stmt, bound).all()
        if len(rows) <= size:  # the window ended before the page did
            rows = None
    if rows is None:
        stmt = statement(filters, bureau, officer_id, paged=after is not None, size=size, dialect=dialect)
        rows = db.session.execute(stmt, bound).all()
    if not rows and after is not None and db.session.get(Submission, after) is None:
        return page(filters, bureau, officer_id, after=None, size=size, now=now)
    has_more = len(rows) > size
    items = rows[:size]
    return KeysetPage(items, items[-1].id if has_more else None, after is None)


def campaign_sizes(rows: list[Row], filters: InboxFilter, bureau: str, officer_id: int) -> dict[int, int]:
    """How many copies of each listed campaign the tab holds (one grouped count for the page)."""
    ids = {r.campaign_id for r in rows if r.campaign_id is not None}
    if not ids:
        return {}
    stmt = (
        select(Submission.campaign_id, func.count())
        .where(Submission.campaign_id.in_(sorted(ids)), tab_condition(filters.tab, bureau, officer_id))
        .group_by(Submission.campaign_id)
    )
    return {campaign: count for campaign, count in db.session.execute(stmt).all()}


@dataclass(frozen=True)
class Counts:
    tabs: dict[Tab, int]
    overdue: int


def counts(bureau: str, officer_id: int, *, now: datetime) -> Counts:
    """Every tab's count and the overdue count: four index-range queries, whatever the filters."""
    by_status = dict(
        db.session.execute(
            select(Submission.status, func.count())
            .where(Submission.bureau_code == bureau, Submission.status.in_(workflow.WITH_A_BUREAU))
            .group_by(Submission.status)
        ).all()
    )
    mine = db.session.execute(select(func.count()).where(tab_condition(Tab.MINE, bureau, officer_id))).scalar_one()
    joint = db.session.execute(select(func.count()).where(tab_condition(Tab.JOINT, bureau, officer_id))).scalar_one()
    sent_back = db.session.execute(
        select(func.count()).where(tab_condition(Tab.SENT_BACK, bureau, officer_id))
    ).scalar_one()
    overdue = db.session.execute(
        select(func.count()).where(
            Submission.bureau_code == bureau,
            workflow.awaiting_answer(),
            Submission.due_at < now,
        )
    ).scalar_one()
    tabs = {
        Tab.NEW: by_status.get(Status.ROUTED, 0),
        Tab.MINE: mine,
        Tab.IN_PROGRESS: by_status.get(Status.IN_PROGRESS, 0),
        Tab.JOINT: joint,
        Tab.SENT_BACK: sent_back,
        Tab.ANSWERED: by_status.get(Status.ANSWERED, 0),
        Tab.CLOSED: by_status.get(Status.CLOSED, 0),
        Tab.ALL: sum(by_status.values()),
    }
    return Counts(tabs, overdue)


def matching_ids(filters: InboxFilter, bureau: str, officer_id: int, *, now: datetime, limit: int) -> list[int]:
    """Every view the filters select (each copy of a campaign), by id: for answering many at once."""
    where = conditions(filters, bureau, officer_id, now=now)
    return list(db.session.execute(select(Submission.id).where(*where).order_by(Submission.id).limit(limit)).scalars())


def officers(bureau: str) -> list[Row]:
    """The bureau's active officers (id, display name), for assignment and the assignee filter."""
    return list(
        db.session.execute(
            select(User.id, User.display_name)
            .where(User.bureau_code == bureau, User.role == "officer", User.active.is_(True))
            .order_by(User.display_name)
        ).all()
    )


def next_to_answer(bureau: str, officer_id: int, *, after_id: int) -> int | None:
    """The view to open after answering one: the officer's own first, then the bureau's new ones,
    soonest due first (not the one just answered)."""
    for tab in (Tab.MINE, Tab.NEW):
        found = db.session.execute(
            select(Submission.id)
            .where(tab_condition(tab, bureau, officer_id), Submission.id != after_id)
            .order_by(Submission.due_at, Submission.id)
            .limit(1)
        ).scalar_one_or_none()
        if found is not None:
            return found
    return None
