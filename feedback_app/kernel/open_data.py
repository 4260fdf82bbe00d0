"""Open data: the public projection in bulk, and the statistics' rollup rows, to write out as files.

Every published view is a record (`OpenView`): what its public page shows, as plain values. It
reads only through the public projection (kernel/public.py): `published()` selects the rows, the
view's text is `published_text` (a moderator's edit or the view as sent, masked), each answer part
is `public.answer_plain_text` (masked but for the bureau's official contacts), the closing note is
masked too. The mask tokens are English whatever the reader's language: a file is the same for
everyone, so one ETag serves all. Never read: the sender's name or e-mail address, the text as
sent (only what the masking makes of it), hashes, notes, who decided what and why.

A campaign is named by a public value, the reference of its first published copy, and only when
two or more of its copies are published: a campaign's id would count copies that were never
published, and a lone published copy is, to the public, a view like any other.

Memory stays flat at any size: views are read `BATCH` at a time by keyset (id after the last one
read, a short query each time, so no cursor stays open while a slow client downloads), and each
batch's answers, campaigns and supporters are read in one query each (bench/open_data_volume.py
measures it at 1,000,000 views).

The CSV writer neutralises every text cell a spreadsheet could read as a formula (OWASP, "CSV
Injection"): a cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return, also after
leading spaces, gets a leading `'`. The JSON writer writes one array, object by object.
"""

from __future__ import annotations

import csv
import io
import json
import threading
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple

from cachetools import LRUCache, cached
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ..extensions import db
from ..text.redaction import PLACEHOLDERS, published_text, redact
from ..text.spreadsheet import neutralise
from . import public
from .deadlines import HONG_KONG
from .models import (
    STATS_COUNTS,
    Answer,
    Bureau,
    Initiative,
    StatsDistribution,
    StatsMeasure,
    StatsMonth,
    Status,
    Submission,
)

BATCH = 1000
FEED_SIZE = 50


# --- the records -----------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenAnswer:
    """One answer as a file carries it: plain text (its Markdown as written), masked."""

    bureau: str
    date: date  # Hong Kong date it was published
    language: str  # "en" or "zh"
    text: str
    translation_language: str | None
    translation: str | None


@dataclass(frozen=True)
class OpenView:
    """A published view as open data: the values its public page shows, nothing else."""

    reference: str
    received: date  # Hong Kong date
    language: str
    smart_area: str
    initiative: str | None  # None: a general view on the smart area
    text: str
    campaign: str | None  # reference of the campaign's first published copy (two or more published)
    campaign_copies: int  # published copies of its campaign, 1 outside one
    supporters: int  # each supporter once, over the campaign's copies when in one
    status: str  # PUBLIC_STATUSES
    answers: tuple[OpenAnswer, ...]
    closing_note: str | None

    @property
    def answered(self) -> date | None:
        return self.answers[0].date if self.answers else None


PUBLIC_STATUSES = ("awaiting_answer", "answered", "closed")


def _public_status(status: str, answered: bool) -> str:
    if status == Status.CLOSED:
        return "closed"
    return "answered" if answered else "awaiting_answer"


class _Source(NamedTuple):
    """What the masking reads of a view (text/redaction.Publishable), from a row of columns."""

    body: str
    public_text: str | None
    not_personal: list[str] | None


def _hong_kong_date(moment: datetime) -> date:
    return moment.astimezone(HONG_KONG).date()


_VIEW_COLUMNS = (
    select(
        Submission.id,
        Submission.reference,
        Submission.created_at,
        Submission.language,
        Submission.topic_area_code,
        Initiative.code.label("initiative"),
        Submission.body,
        Submission.public_text,
        Submission.not_personal,
        Submission.status,
        Submission.closing_note,
        Submission.campaign_id,
    )
    .select_from(Submission)
    .outerjoin(Initiative, Initiative.id == Submission.initiative_id)
)


def views(*, batch: int = BATCH) -> Iterator[OpenView]:
    """Every published view, oldest first, read `batch` at a time by keyset."""
    official = public.official_contacts(db.session.execute(select(Bureau.code)).scalars())
    after = 0
    while True:
        rows = db.session.execute(
            _VIEW_COLUMNS.where(public.published(), Submission.id > after).order_by(Submission.id).limit(batch)
        ).all()
        if not rows:
            return
        yield from _records(rows, official)
        if len(rows) < batch:
            return
        after = rows[-1].id


def _records(rows: Sequence[Any], official: Mapping[str, frozenset[str]]) -> list[OpenView]:
    ids = [row.id for row in rows]
    answers = _answers(ids, official)
    campaigns = _campaigns({row.campaign_id for row in rows if row.campaign_id is not None})
    supporters = public.supporter_counts((row.id, row.campaign_id) for row in rows)
    records = []
    for row in rows:
        own = answers.get(row.id, ())
        campaign, copies = campaigns.get(row.campaign_id, (None, 1))
        records.append(
            OpenView(
                reference=row.reference,
                received=_hong_kong_date(row.created_at),
                language=row.language,
                smart_area=row.topic_area_code,
                initiative=row.initiative,
                text=published_text(_Source(row.body, row.public_text, row.not_personal), placeholders=PLACEHOLDERS),
                campaign=campaign,
                campaign_copies=copies,
                supporters=supporters.get(row.id, 0),
                status=_public_status(row.status, bool(own)),
                answers=own,
                closing_note=redact(row.closing_note) if row.closing_note else None,
            )
        )
    return records


def _answers(ids: list[int], official: Mapping[str, frozenset[str]]) -> dict[int, tuple[OpenAnswer, ...]]:
    """The answers of these views, oldest first, each part masked: one query."""
    found: dict[int, list[OpenAnswer]] = {}
    rows = db.session.execute(
        select(
            Answer.submission_id,
            Answer.bureau_code,
            Answer.created_at,
            Answer.body,
            Answer.language,
            Answer.translation,
        )
        .where(Answer.submission_id.in_(ids))
        .order_by(Answer.submission_id, Answer.created_at, Answer.id)
    )
    for row in rows:
        contacts: Collection[str] = official.get(row.bureau_code, frozenset())
        translated = bool(row.translation)
        found.setdefault(row.submission_id, []).append(
            OpenAnswer(
                bureau=row.bureau_code,
                date=_hong_kong_date(row.created_at),
                language=row.language,
                text=public.answer_plain_text(row.body, contacts),
                translation_language=("zh" if row.language == "en" else "en") if translated else None,
                translation=public.answer_plain_text(row.translation, contacts) if translated else None,
            )
        )
    return {view_id: tuple(answers) for view_id, answers in found.items()}


def _campaigns(campaign_ids: set[int]) -> dict[int, tuple[str, int]]:
    """Each campaign with two or more published copies: its first published copy's reference and
    how many are published. One query."""
    if not campaign_ids:
        return {}
    per_campaign = (
        select(
            Submission.campaign_id.label("campaign_id"),
            func.min(Submission.id).label("first_id"),
            func.count().label("copies"),
        )
        .where(Submission.campaign_id.in_(campaign_ids), public.published())
        .group_by(Submission.campaign_id)
        .having(func.count() > 1)
        .subquery()
    )
    rows = db.session.execute(
        select(per_campaign.c.campaign_id, Submission.reference, per_campaign.c.copies).join(
            Submission, Submission.id == per_campaign.c.first_id
        )
    )
    return {row.campaign_id: (row.reference, row.copies) for row in rows}


def published_count() -> int:
    """How many rows views.csv holds."""
    return db.session.execute(select(func.count()).select_from(Submission).where(public.published())).scalar_one()


# --- the statistics' rollup ------------------------------------------------------------------

COUNTERS = STATS_COUNTS


def statistics_rows() -> Iterator[dict[str, Any]]:
    """The rollup's rows (models.StatsMonth) by month, smart area and bureau, as plain values."""
    stmt = select(StatsMonth).order_by(StatsMonth.month, StatsMonth.area_code, StatsMonth.bureau_code)
    result = db.session.execute(stmt.execution_options(yield_per=BATCH))
    try:
        for row in result.scalars():
            record: dict[str, Any] = {
                "month": f"{row.month:%Y-%m}",
                "smart_area": row.area_code,
                "bureau": row.bureau_code,
            }
            record.update({name: getattr(row, name) or 0 for name in COUNTERS})
            yield record
    finally:
        result.close()


def statistics_count() -> int:
    return db.session.execute(select(func.count()).select_from(StatsMonth)).scalar_one()


def distribution_rows() -> Iterator[dict[str, Any]]:
    """The rollup's distributions (models.StatsDistribution): the medians and campaign sizes of
    the statistics page come from these, so anyone can compute them over any months."""
    stmt = select(StatsDistribution).order_by(
        StatsDistribution.month, StatsDistribution.measure, StatsDistribution.bureau_code, StatsDistribution.value
    )
    result = db.session.execute(stmt.execution_options(yield_per=BATCH))
    try:
        for row in result.scalars():
            yield {
                "month": f"{row.month:%Y-%m}",
                "measure": row.measure,
                "bureau": row.bureau_code,
                "value": row.value,
                "count": row.count,
            }
    finally:
        result.close()


# --- the data dictionary: every file's fields (datapackage.json and the /open-data page) --------


@dataclass(frozen=True)
class Field:
    name: str
    type: str  # a Table Schema type (https://specs.frictionlessdata.io/table-schema/)
    description: Any  # a lazy string: the page shows it in the reader's language
    constraints: Mapping[str, Any] = field(default_factory=dict)


def _views_fields(answers: Field) -> tuple[Field, ...]:
    return (
        Field(
            "reference",
            "string",
            _l("The view's public reference, as on its page (/views/<reference>). Unique."),
            {"required": True, "unique": True},
        ),
        Field("received", "date", _l("The day the view was sent, in Hong Kong time."), {"required": True}),
        Field("language", "string", _l("The language the resident wrote in: en, zh_Hant or zh_Hans.")),
        Field(
            "smart_area",
            "string",
            _l("The code of the smart area the view is about (e.g. mobility)."),
            {"required": True},
        ),
        Field(
            "initiative",
            "string",
            _l("The code of the Blueprint initiative the view is about; empty for a general view on the smart area."),
        ),
        Field(
            "text",
            "string",
            _l(
                "The view as published: as sent, or as a moderator edited it, with personal data "
                "(phone numbers, e-mail addresses, ID numbers, addresses, names…) replaced by a token such as [PHONE]."
            ),
            {"required": True},
        ),
        Field(
            "campaign",
            "string",
            _l(
                "When two or more published views are copies of one text (a campaign): the reference of its "
                "first published copy, the same on every copy. Empty otherwise."
            ),
        ),
        Field(
            "campaign_copies",
            "integer",
            _l("How many published copies its campaign has; 1 for a view in no campaign."),
            {"required": True, "minimum": 1},
        ),
        Field(
            "supporters",
            "integer",
            _l("How many people or devices support the view (over all copies of its campaign), each once."),
            {"required": True, "minimum": 0},
        ),
        Field(
            "status",
            "string",
            _l("awaiting_answer, answered (a bureau answered it) or closed (the bureau closed it)."),
            {"required": True, "enum": list(PUBLIC_STATUSES)},
        ),
        Field("answered", "date", _l("The day of its first answer, in Hong Kong time; empty while none.")),
        Field(
            "answer_bureaus",
            "string",
            _l("The codes of the bureaus that answered, separated by spaces (e.g. TLB EEB)."),
        ),
        answers,
        Field(
            "closing_note",
            "string",
            _l("What the bureau said when it closed the view, personal data masked; empty if none."),
        ),
    )


CSV_ANSWERS = Field(
    "answers",
    "string",
    _l(
        "Every answer, oldest first, separated by a blank line; each starts with [bureau date language], "
        "followed by its translation, if any, after [language]. Personal data masked."
    ),
)
JSON_ANSWERS = Field(
    "answers",
    "array",
    _l("Every answer, oldest first, as an object with the fields below."),
)
VIEWS_CSV_FIELDS = _views_fields(CSV_ANSWERS)
VIEWS_JSON_FIELDS = _views_fields(JSON_ANSWERS)
ANSWER_FIELDS = (
    Field("bureau", "string", _l("The code of the bureau that answered (e.g. TLB).")),
    Field("date", "date", _l("The day the answer was published, in Hong Kong time.")),
    Field("language", "string", _l("The answer's language: en or zh.")),
    Field(
        "text",
        "string",
        _l(
            "The answer as the bureau wrote it (Markdown), personal data masked; the bureau's own "
            "published hotlines and gov.hk addresses are kept."
        ),
    ),
    Field("translation_language", "string", _l("The language of the translation, if the bureau gave one.")),
    Field("translation", "string", _l("The same answer in the other language, masked likewise; empty if none.")),
)

_COUNTER_MEANINGS = {
    "received": _l("Views received."),
    "published": _l("Views published (the public may read them now)."),
    "hidden": _l("Views a moderator hid from the public."),
    "rejected_spam": _l("Views rejected as spam."),
    "rejected_abusive": _l("Views rejected as abusive."),
    "rejected_off_topic": _l("Views rejected as off topic."),
    "rejected_duplicate": _l("Views rejected as duplicates."),
    "personal_data": _l("Views in which the masking found personal data."),
    "routed_auto": _l("Views routed to a bureau by the classifier alone."),
    "routed_moderator": _l("Views routed to a bureau by a moderator."),
    "overridden": _l("Views a moderator routed elsewhere than the classifier suggested."),
    "answered": _l("Views answered by a bureau."),
    "answered_on_time": _l("Views whose first answer came by the bureau's target date."),
    "helped_yes": _l("Answers the resident said answered their point."),
    "helped_partly": _l("Answers the resident said partly answered their point."),
    "helped_no": _l("Answers the resident said did not answer their point."),
    "in_campaign": _l("Views that are copies in a campaign."),
}
STATISTICS_FIELDS = (
    Field("month", "yearmonth", _l("The month the views were received (YYYY-MM, Hong Kong time)."), {"required": True}),
    Field("smart_area", "string", _l("The code of the smart area the views are about."), {"required": True}),
    Field("bureau", "string", _l("The code of the bureau the views are routed to; empty while not routed.")),
    *(Field(name, "integer", _COUNTER_MEANINGS[name], {"required": True, "minimum": 0}) for name in COUNTERS),
)
STATISTICS_KEY = ("month", "smart_area", "bureau")
DISTRIBUTION_FIELDS = (
    Field("month", "yearmonth", _l("The month the views were received (YYYY-MM, Hong Kong time)."), {"required": True}),
    Field(
        "measure",
        "string",
        _l(
            "What is counted: answer_days, the whole days from a view's routing to its bureau's first answer; "
            "campaign_size, the copies in a campaign, in the month of its first copy."
        ),
        {"required": True, "enum": [str(m) for m in StatsMeasure]},
    ),
    Field("bureau", "string", _l("The code of the bureau that answered (answer_days); empty for campaign_size.")),
    Field("value", "integer", _l("The number of days, or of copies."), {"required": True, "minimum": 0}),
    Field(
        "count",
        "integer",
        _l("How many views (answer_days) or campaigns (campaign_size) had that value."),
        {"required": True, "minimum": 0},
    ),
)
DISTRIBUTION_KEY = ("month", "measure", "bureau", "value")


# --- writing the files -----------------------------------------------------------------------

# Excel opens a CSV file in the machine's legacy code page (Big5 on a Hong Kong Windows set to
# Traditional Chinese) unless it starts with a UTF-8 byte order mark.
BOM = "\ufeff"


def _csv_answers(answers: Iterable[OpenAnswer]) -> str:
    parts = []
    for a in answers:
        part = f"[{a.bureau} {a.date.isoformat()} {a.language}] {a.text}"
        if a.translation:
            part += f"\n\n[{a.translation_language}] {a.translation}"
        parts.append(part)
    return "\n\n".join(parts)


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str):
        return neutralise(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _csv_view(view: OpenView) -> list[Any]:
    values = {
        **_common(view),
        "answered": view.answered,
        "answer_bureaus": " ".join(dict.fromkeys(a.bureau for a in view.answers)),
        "answers": _csv_answers(view.answers),
    }
    return [_csv_cell(values[f.name]) for f in VIEWS_CSV_FIELDS]


def _common(view: OpenView) -> dict[str, Any]:
    return {
        "reference": view.reference,
        "received": view.received,
        "language": view.language,
        "smart_area": view.smart_area,
        "initiative": view.initiative,
        "text": view.text,
        "campaign": view.campaign,
        "campaign_copies": view.campaign_copies,
        "supporters": view.supporters,
        "status": view.status,
        "closing_note": view.closing_note,
    }


def _chunks(rows: Iterable[list[Any]], header: Sequence[str]) -> Iterator[str]:
    """RFC 4180 CSV (CRLF line ends) after a byte order mark, a chunk per BATCH rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write(BOM)
    writer.writerow(header)
    for n, row in enumerate(rows, 1):
        writer.writerow(row)
        if n % BATCH == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def views_csv(records: Iterable[OpenView]) -> Iterator[str]:
    return _chunks((_csv_view(v) for v in records), [f.name for f in VIEWS_CSV_FIELDS])


def _table_csv(rows: Iterable[dict[str, Any]], fields: Sequence[Field]) -> Iterator[str]:
    names = [f.name for f in fields]
    return _chunks(([_csv_cell(row[name]) for name in names] for row in rows), names)


def statistics_csv(rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    return _table_csv(rows, STATISTICS_FIELDS)


def distributions_csv(rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    return _table_csv(rows, DISTRIBUTION_FIELDS)


def _json_view(view: OpenView) -> dict[str, Any]:
    values = {
        **_common(view),
        "received": view.received.isoformat(),
        "answered": view.answered.isoformat() if view.answered else None,
        "answer_bureaus": " ".join(dict.fromkeys(a.bureau for a in view.answers)),
        "answers": [
            {
                "bureau": a.bureau,
                "date": a.date.isoformat(),
                "language": a.language,
                "text": a.text,
                "translation_language": a.translation_language,
                "translation": a.translation,
            }
            for a in view.answers
        ],
    }
    return {f.name: values[f.name] for f in VIEWS_JSON_FIELDS}


def views_json(records: Iterable[OpenView]) -> Iterator[str]:
    """One JSON array of objects, written as it is read: `[`, the objects separated by commas, `]`."""
    parts = ["["]
    for n, view in enumerate(records):
        parts.append(("," if n else "") + "\n" + json.dumps(_json_view(view), ensure_ascii=False))
        if len(parts) >= BATCH:
            yield "".join(parts)
            parts = []
    parts.append("\n]\n")
    yield "".join(parts)


# --- feeds: the newest answers of an initiative or a bureau ------------------------------------


@dataclass(frozen=True)
class FeedEntry:
    """An answer as a feed shows it: the published view it answers, and which of its answers."""

    view: public.PublicView
    answer: public.PublicAnswer
    position: int  # 1 for the view's first answer: with the view's reference, the entry's stable id


def newest_answers(
    *, initiative_id: int | None = None, bureau_code: str | None = None, size: int = FEED_SIZE
) -> list[FeedEntry]:
    """The newest `size` answers to published views of an initiative, or given by a bureau, newest
    first, read through the public projection (masked and rendered in the reader's language)."""
    stmt = (
        select(Answer.submission_id, Answer.bureau_code, Answer.created_at)
        .join(Submission, Submission.id == Answer.submission_id)
        .where(public.published())
    )
    if initiative_id is not None:
        stmt = stmt.where(Submission.initiative_id == initiative_id)
    if bureau_code is not None:
        stmt = stmt.where(Answer.bureau_code == bureau_code)
    rows = db.session.execute(stmt.order_by(Answer.created_at.desc(), Answer.id.desc()).limit(size)).all()
    by_id = {v.id: v for v in public.views_by_id(list(dict.fromkeys(row.submission_id for row in rows)))}
    entries = []
    for row in rows:
        view = by_id.get(row.submission_id)
        if view is None:
            continue
        for position, answer in enumerate(view.answers, 1):
            if answer.bureau_code == row.bureau_code and answer.created_at == row.created_at:
                entries.append(FeedEntry(view, answer, position))
                break
    return entries


# --- the files' sizes, for the data dictionary's page -------------------------------------------

_sizes: LRUCache[tuple[int, datetime, datetime | None], tuple[int, int]] = LRUCache(maxsize=4)
_sizes_lock = threading.Lock()


@cached(_sizes, lock=_sizes_lock)
def _counted(version: int, changed_at: datetime, stats_refreshed_at: datetime | None) -> tuple[int, int]:
    return published_count(), statistics_count()


def rows(state: public.State) -> tuple[int, int]:
    """How many rows views.csv (and views.json) and statistics.csv hold, counted once per public
    version and statistics refresh (counting a million published views takes a while). The time
    of the change is in the key beside the version: two databases never share an answer."""
    if state.version == 0:  # no change recorded yet (a database without its state row)
        return published_count(), statistics_count()
    return _counted(state.version, state.changed_at, state.stats_refreshed_at)
