"""A bureau's views, as the inbox's current tab and filters select them, written out as CSV or JSON.

The rows come from `inbox.conditions` — the inbox's own road into what the officer's bureau may
see — so an export can hold nothing the inbox would not list. Unlike the inbox, every copy of a
campaign is a row of its own (each copy has its own reference, sender and due date).

Memory stays flat whatever the size: the query is read `BATCH` rows at a time (a server-side
cursor on PostgreSQL, SQLite's own stepping cursor), the answers of each batch are read in one
query, and every batch is written out and forgotten before the next (bench/export_volume.py
measures it at 100,000 rows).

What a row never carries: internal notes (they stay on the view's page), hashes (tracking token,
form token, client), the classifier's internals, another bureau's views. A joint view (this
bureau was invited to answer it with its owner) carries what the invited bureau reads on the
view's page: its owner (`bureau`), the owner's status, due date and assignee, and every bureau's
part of the answer, each part labelled with its bureau, since both parts are published together.
The sender's name and e-mail address come only when asked for (`personal`).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from ..extensions import db
from ..kernel import audit
from ..kernel.database import write_transaction
from ..kernel.deadlines import HONG_KONG
from ..kernel.models import Answer, AuditAction, Initiative, SmartArea, Submission, User
from ..text.spreadsheet import neutralise
from . import inbox

MAX_ROWS = 100_000
BATCH = 1000


@dataclass(frozen=True)
class Column:
    key: str
    header: str  # the CSV header, in English like the data's codes (a file is shared, not read on a page)


COLUMNS = (
    Column("reference", "reference"),
    Column("received", "received (Hong Kong time)"),
    Column("routed", "routed (Hong Kong time)"),
    Column("due", "due (Hong Kong time)"),
    Column("status", "status"),
    Column("bureau", "bureau"),
    Column("initiative", "initiative"),
    Column("smart_area", "smart area"),
    Column("language", "language"),
    Column("assignee", "assignee"),
    Column("campaign_id", "campaign id"),
    Column("text", "text as sent"),
    Column("answered", "answered at (Hong Kong time)"),
    Column("answers", "answers"),
)
PERSONAL_COLUMNS = (Column("name", "sender's name"), Column("email", "sender's e-mail address"))


def columns(personal: bool) -> tuple[Column, ...]:
    return COLUMNS + PERSONAL_COLUMNS if personal else COLUMNS


Assignee = aliased(User, name="assignee")
Area = aliased(SmartArea, name="routed_area")


def statement(filters: inbox.InboxFilter, bureau: str, officer_id: int, *, now: datetime, personal: bool):
    """The export's one query: the inbox's conditions and order, at most MAX_ROWS rows."""
    selected = [
        Submission.id,
        Submission.reference,
        Submission.created_at,
        Submission.routed_at,
        Submission.due_at,
        Submission.status,
        Submission.bureau_code,
        Initiative.title_en.label("initiative"),
        Area.name_en.label("smart_area"),
        Submission.language,
        Assignee.display_name.label("assignee"),
        Submission.campaign_id,
        Submission.body,
        Submission.answered_at,
    ]
    if personal:
        selected += [Submission.name, Submission.email]
    return (
        select(*selected)
        .select_from(Submission)
        .outerjoin(Initiative, Initiative.id == Submission.initiative_id)
        .outerjoin(Area, Area.code == Submission.area_code)
        .outerjoin(Assignee, Assignee.id == Submission.assigned_to_id)
        .where(*inbox.conditions(filters, bureau, officer_id, now=now))
        .order_by(*inbox.sort_key(filters))
        .limit(MAX_ROWS)
    )


def count(filters: inbox.InboxFilter, bureau: str, officer_id: int, *, now: datetime) -> int:
    """How many rows the export holds, and MAX_ROWS + 1 if it will be cut: one bounded count."""
    ids = select(Submission.id).where(*inbox.conditions(filters, bureau, officer_id, now=now)).limit(MAX_ROWS + 1)
    return db.session.execute(select(func.count()).select_from(ids.subquery())).scalar_one()


def _hong_kong(moment: datetime | None) -> datetime | None:
    return moment.astimezone(HONG_KONG) if moment is not None else None


def _answers(ids: list[int]) -> dict[int, list[str]]:
    """Each view's answers, oldest first, every part labelled with its bureau and time."""
    found: dict[int, list[str]] = {}
    rows = db.session.execute(
        select(Answer.submission_id, Answer.bureau_code, Answer.created_at, Answer.body, Answer.translation)
        .where(Answer.submission_id.in_(ids))
        .order_by(Answer.submission_id, Answer.created_at, Answer.id)
    )
    for row in rows:
        when = _hong_kong(row.created_at)
        label = f"[{row.bureau_code} {when:%Y-%m-%d %H:%M}]" if when else f"[{row.bureau_code}]"
        text = row.body if not row.translation else f"{row.body}\n\n{row.translation}"
        found.setdefault(row.submission_id, []).append(f"{label}\n{text}")
    return found


def records(
    filters: inbox.InboxFilter, bureau: str, officer_id: int, *, now: datetime, personal: bool
) -> Iterator[dict[str, Any]]:
    """The export's rows as dicts (datetimes in Hong Kong time), read and handed on batch by batch."""
    stmt = statement(filters, bureau, officer_id, now=now, personal=personal)
    result = db.session.execute(stmt.execution_options(yield_per=BATCH))
    try:
        for batch in result.partitions():
            answers = _answers([row.id for row in batch])
            for row in batch:
                record = {
                    "reference": row.reference,
                    "received": _hong_kong(row.created_at),
                    "routed": _hong_kong(row.routed_at),
                    "due": _hong_kong(row.due_at),
                    "status": row.status,
                    "bureau": row.bureau_code,
                    "initiative": row.initiative,
                    "smart_area": row.smart_area,
                    "language": row.language,
                    "assignee": row.assignee,
                    "campaign_id": row.campaign_id,
                    "text": row.body,
                    "answered": _hong_kong(row.answered_at),
                    "answers": answers.get(row.id, []),
                }
                if personal:
                    record["name"] = row.name
                    record["email"] = row.email
                yield record
    finally:
        result.close()  # a download stopped half-way frees its cursor at once


def _csv_text(value: str | None) -> str:
    return neutralise(value) if value else ""


def _csv_time(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M}" if value is not None else ""


def _csv_answers(value: list[str]) -> str:
    return neutralise("\n\n".join(value))


def _csv_number(value: int | None) -> int | str:
    return "" if value is None else value  # a spreadsheet may read it as a number


CSV_CELLS = {
    "received": _csv_time,
    "routed": _csv_time,
    "due": _csv_time,
    "answered": _csv_time,
    "campaign_id": _csv_number,
    "answers": _csv_answers,
}


# Excel opens a CSV file in the machine's legacy code page (Big5 on a Hong Kong Windows set to
# Traditional Chinese) unless the file starts with a UTF-8 byte order mark: without it every
# Chinese view would be mojibake. Other readers (csv.reader with utf-8-sig, pandas) skip it.
BOM = "\ufeff"
CUT_NOTE = "Cut at {rows:,} rows, the most one export holds: narrow the filters (dates, tab) to export the rest."


def csv_chunks(rows: Iterable[dict[str, Any]], *, personal: bool, cut: bool) -> Iterator[str]:
    """RFC 4180 CSV (the csv module's quoting, CRLF line ends), a chunk of text per BATCH rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    wanted = [(c.key, CSV_CELLS.get(c.key, _csv_text)) for c in columns(personal)]
    buffer.write(BOM)
    writer.writerow([c.header for c in columns(personal)])
    for n, row in enumerate(rows, 1):
        writer.writerow([cell(row[key]) for key, cell in wanted])
        if n % BATCH == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    if cut:
        writer.writerow([CUT_NOTE.format(rows=MAX_ROWS)])
    yield buffer.getvalue()


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def json_chunks(rows: Iterable[dict[str, Any]], *, personal: bool) -> Iterator[str]:
    """A JSON array of objects, written as it is read: `[`, the objects separated by commas, `]`."""
    wanted = columns(personal)
    parts = ["["]
    for n, row in enumerate(rows):
        item = {c.key: _json_value(row[c.key]) for c in wanted}
        parts.append(("," if n else "") + "\n" + json.dumps(item, ensure_ascii=False))
        if len(parts) >= BATCH:
            yield "".join(parts)
            parts = []
    parts.append("\n]\n")
    yield "".join(parts)


def described(filters: inbox.InboxFilter) -> dict[str, Any]:
    """The filters as the audit history keeps them: only what was chosen, in plain JSON values."""
    chosen = {}
    for key, value in asdict(filters).items():
        if value in (None, False, ""):
            continue
        chosen[key] = value.value if isinstance(value, Enum) else _json_value(value)
    return chosen


def record_export(
    officer: User, *, kind: str, filters: inbox.InboxFilter, personal: bool, rows: int, cut: bool
) -> None:
    """The export's audit event, committed on its own before the first byte leaves.

    Recorded first, with the count the query will return, because a stream that breaks off (a
    closed laptop, a database error at row 60,000) has still let data out: written at the end,
    the event would be lost exactly then. The count is read just before the rows are; a view
    that changes tab in between makes the file differ by that view from the event's count.
    """
    with write_transaction():
        audit.record(
            AuditAction.BUREAU_EXPORTED,
            actor_id=officer.id,
            after={
                "bureau": officer.bureau_code,
                "format": kind,
                "filters": described(filters),
                "personal_data": personal,
                "rows": rows,
                "cut": cut,
            },
        )
