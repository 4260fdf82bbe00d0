"""Free-text search over what residents wrote, in English and Chinese, on both databases.

PostgreSQL: a stored text-search document of the body with GIN indexes. Its 'simple' parser
keeps a run of Chinese characters as one word, so the document puts a space around every Han
character first; a Chinese query becomes a phrase of single characters (港 <-> 鐵), an
English word a prefix ("bus" finds "buses").

SQLite (the embedded default): an FTS5 table with the trigram tokenizer, kept by triggers.
Trigrams find any substring of three characters or more, in either language; shorter terms
(a two-character Chinese word) fall back to LIKE.

How common a query is (share()) is read from PostgreSQL's own statistics of the document: the
review queue walks its ordered backlog index for a common query and asks the GIN index only for a
rare one (moderation/queue.py).

A query is read as terms that must all appear. Simplified and Traditional forms of a Chinese
query are both looked for, since residents write in either. The document and the indexes are
made by migrations/versions/0009_queue_at_volume.py (tests/test_queue_volume.py checks that the
plans use them).
"""

from __future__ import annotations

import re
import threading
import unicodedata
from typing import Any

from cachetools import TTLCache
from sqlalchemy import ColumnElement, and_, func, literal_column, or_, select, text

from ..extensions import db
from ..text.chinese import HAN_RANGES as HAN
from ..text.chinese import to_simplified, to_traditional
from .models import Submission

MAX_TERMS = 8
MAX_QUERY_LENGTH = 200
_TERM = re.compile(rf"[{HAN}]+|[^\W_{HAN}]+")
_IS_HAN = re.compile(rf"[{HAN}]")
# The stored document (migration 0009) puts a space around each Han character of the basic
# planes only; a run of supplementary-plane ones (Extension B on: 𠮶, 𡃁) stays one word there.
_DOCUMENT_HAN_WORD = re.compile(r"[\U00020000-\U0002ffff]+|.", re.DOTALL)

# A stored, generated column on PostgreSQL only (migration 0009); the models do not declare it.
PG_DOCUMENT = "submission.search_document"


def terms(query: str) -> list[str]:
    """The words of a query (Chinese runs kept whole), lower-cased, at most MAX_TERMS."""
    normal = unicodedata.normalize("NFKC", query[:MAX_QUERY_LENGTH]).casefold()
    return _TERM.findall(normal)[:MAX_TERMS]


def _scripts(query_terms: list[str]) -> list[list[str]]:
    """The terms as typed, and in the other Chinese script where that differs."""
    forms = [query_terms]
    for convert in (to_traditional, to_simplified):
        other = [convert(t) if _IS_HAN.search(t) else t for t in query_terms]
        if other not in forms:
            forms.append(other)
    return forms


def _tsquery(query_terms: list[str]) -> str:
    # Terms hold letters, digits and Han characters only, so nothing in them is tsquery syntax.
    parts = [" <-> ".join(_DOCUMENT_HAN_WORD.findall(t)) if _IS_HAN.match(t) else f"{t}:*" for t in query_terms]
    return " & ".join(f"({p})" for p in parts)


def _postgresql(query_terms: list[str], document: ColumnElement[Any] | None) -> ColumnElement[bool]:
    document = literal_column(PG_DOCUMENT) if document is None else document
    config: ColumnElement[Any] = literal_column("'simple'::regconfig")
    return or_(*(document.op("@@")(func.to_tsquery(config, _tsquery(form))) for form in _scripts(query_terms)))


def _sqlite_form(query_terms: list[str]) -> ColumnElement[bool]:
    long_terms = [t for t in query_terms if len(t) >= 3]
    conditions = [Submission.body.contains(t, autoescape=True) for t in query_terms if len(t) < 3]
    if long_terms:
        # Each term a quoted FTS5 string: terms hold no quote, so none can close it early.
        match = " ".join(f'"{t}"' for t in long_terms)
        conditions.append(
            Submission.id.in_(
                select(literal_column("rowid"))
                .select_from(text("submission_fts"))
                .where(literal_column("submission_fts").op("MATCH")(match))
            )
        )
    return and_(*conditions)


def matching(query: str, dialect: str, *, document: ColumnElement[Any] | None = None) -> ColumnElement[bool] | None:
    """A condition on Submission for the views that contain every term; None for no terms.

    `document` (PostgreSQL only): the search document as a column of a subquery, for a query
    that tests rows it has already read instead of asking the index."""
    query_terms = terms(query)
    if not query_terms:
        return None
    if dialect == "postgresql":
        return _postgresql(query_terms, document)
    return or_(*(_sqlite_form(form) for form in _scripts(query_terms)))


# The most common words (and Han characters) of the document and the share of views holding each,
# as PostgreSQL's ANALYZE sampled them; read once in a while per process, since they change only
# when ANALYZE runs again (autovacuum, or the hourly refresh_planner_statistics).
STATISTICS_SECONDS = 600
_statistics: TTLCache[str, dict[str, float]] = TTLCache(maxsize=16, ttl=STATISTICS_SECONDS)
_statistics_lock = threading.Lock()
_PG_STATISTICS = text(
    "SELECT most_common_elems::text::text[], most_common_elem_freqs FROM pg_stats "
    "WHERE schemaname = current_schema() AND tablename = 'submission' AND attname = 'search_document'"
)


def _common_elements() -> dict[str, float]:
    key = str(db.engine.url)
    with _statistics_lock:
        elements = _statistics.get(key)
    if elements is None:
        row = db.session.execute(_PG_STATISTICS).first()
        # PostgreSQL's frequencies end with three more (minimum, maximum, null share): not strict.
        elements = dict(zip(row[0], row[1], strict=False)) if row is not None and row[0] is not None else {}
        with _statistics_lock:
            _statistics[key] = elements
    return elements


def share(query: str, dialect: str) -> float | None:
    """At most what share of all views hold every term of the query, by PostgreSQL's statistics;
    None where there are none (SQLite). A Chinese term is a phrase of its characters, so it is no
    more common than its rarest character (the planner multiplies the characters' shares instead,
    as if they were independent, and so takes a common phrase for a rare one). A word or
    character that is not among the most common counts as rare (0)."""
    query_terms = terms(query)
    if dialect != "postgresql" or not query_terms:
        return None
    elements = _common_elements()
    if not elements:
        return None

    def term_share(term: str) -> float:
        if _IS_HAN.match(term):
            return min(elements.get(c, 0.0) for c in _DOCUMENT_HAN_WORD.findall(term))
        return min(1.0, sum(f for e, f in elements.items() if e.startswith(term)))  # a prefix

    return min(1.0, sum(min(term_share(t) for t in form) for form in _scripts(query_terms)))
