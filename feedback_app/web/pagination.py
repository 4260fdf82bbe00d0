"""Keyset pagination for lists of submissions that may reach millions of rows.

Pages are cut by id (ids grow with arrival), so each page is one index range scan whatever
page the reader is on; there is no OFFSET that grows with the page number.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from flask import abort
from sqlalchemy import Select

from ..extensions import db
from .input_guard import parse_id

T = TypeVar("T")


@dataclass
class KeysetPage(Generic[T]):
    items: list[T]
    next_after: int | None  # pass as ?after= for the next page; None on the last page
    is_first: bool


def keyset_page(stmt: Select, id_column, *, after: int | None, size: int, newest_first: bool = False) -> KeysetPage:
    if after is not None:
        stmt = stmt.where(id_column < after if newest_first else id_column > after)
    order = id_column.desc() if newest_first else id_column.asc()
    rows = list(db.session.execute(stmt.order_by(order).limit(size + 1)).scalars())
    has_more = len(rows) > size
    rows = rows[:size]
    return KeysetPage(rows, rows[-1].id if has_more else None, after is None)


def parse_after(value: str | None) -> int | None:
    """`?after=` as an id; None (first page) when absent. Anything else is a broken link: 400."""
    if not value:
        return None
    after = parse_id(value)
    if after is None:
        abort(400)
    return after


def parse_page(value: str | None) -> int:
    """`?page=` of a numbered list; 1 when absent. A page past the end shows the last one (the
    list may have shrunk since the link was made); a negative, huge or non-number page is 400."""
    if not value:
        return 1
    page = parse_id(value)
    if page is None:
        abort(400)
    return page
