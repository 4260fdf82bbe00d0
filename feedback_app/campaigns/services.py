"""Campaigns: one text sent many times, lightly edited, grouped as the worker stores each view.

A new view's candidates come from one indexed lookup of its MinHash band keys
(near_duplicates.py); each candidate's stored signature confirms or rejects it. The view joins
the campaign of its closest near copy, or starts one with it. Nothing here compares a view with
every other one, so the cost of a new view does not grow with the table.

Grouping changes nothing a moderator decided: it is written without a version bump (a moderator
who has the view open can still decide on it) and noted in the view's history.
"""

from __future__ import annotations

import difflib
import logging
import re
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import BigInteger, bindparam, func, insert, select, text, union_all, update

from ..extensions import db
from ..kernel import workflow
from ..kernel.database import write_transaction
from ..kernel.models import Campaign, NearDuplicateKey, Submission
from ..text import near_duplicates
from ..text.chinese import HAN_RANGES

log = logging.getLogger(__name__)

# A view's keys match about 20 unrelated views per million stored (near_duplicates.py), and each
# copy of a campaign shares most of its 32 keys: the newest few per key find the campaign.
PER_KEY = 16


def place(submission_id: int) -> int | None:
    """Group a stored view with its near copies; the campaign's id, or None. Never raises: a
    view left ungrouped is still a view, listed and decided on its own."""
    try:
        return _place(submission_id)
    except Exception:
        db.session.rollback()
        log.exception("could not look for near copies of submission %s", submission_id)
        return None


def _place(submission_id: int) -> int | None:
    sub = db.session.get(Submission, submission_id)
    if sub is None:
        return None
    signature = near_duplicates.signature(sub.body)
    if signature is None:  # nothing but punctuation or emoji: nothing to compare
        return None
    keys = sorted(set(near_duplicates.band_keys(signature)))
    with write_transaction():
        _lock_keys(keys)
        # Read under the row's lock: a moderator publishing it meanwhile waits, then marks these keys.
        state = db.session.execute(
            select(Submission.visibility, Submission.status).where(Submission.id == submission_id).with_for_update()
        ).one()
        already = db.session.execute(
            select(NearDuplicateKey.key).where(NearDuplicateKey.submission_id == submission_id).limit(1)
        ).first()
        if already is not None:  # a retried task: placed before
            return db.session.execute(select(Submission.campaign_id).where(Submission.id == submission_id)).scalar_one()
        closest = closest_copy(signature, keys, exclude_id=submission_id)
        campaign_id = None
        if closest is not None:
            campaign_id = closest.campaign_id or _start_campaign(closest.id)
        _quietly_update(submission_id, near_signature=signature.to_bytes(), campaign_id=campaign_id)
        published = workflow.is_public(state.visibility, state.status)
        db.session.execute(
            insert(NearDuplicateKey), [{"key": k, "submission_id": submission_id, "published": published} for k in keys]
        )
        if campaign_id is not None:
            workflow.joined_campaign(submission_id, campaign_id)
    return campaign_id


# Takes PostgreSQL's transaction-scoped advisory lock on each key, in ascending order (two
# placements never wait on each other in a circle). Written out: a function called for its
# effect, over a bound array.
_LOCK_KEYS = text(
    "SELECT count(pg_advisory_xact_lock(k)) FROM (SELECT unnest(CAST(:keys AS bigint[])) AS k ORDER BY 1) AS keys"
)


def _lock_keys(keys: list[int]) -> None:
    """Two copies placed at the same moment by two workers must see each other: otherwise
    neither finds the other (each one's keys are not yet committed), or both start a campaign
    with the same earlier copy. Copies share band keys, so a lock per key makes them take turns
    while unrelated views go on in parallel. SQLite needs none: its write transaction begins
    with the database's write lock, before the candidates are read."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(_LOCK_KEYS, {"keys": keys})


def candidate_ids(keys: list[int], *, published: bool = False) -> set[int]:
    """The views sharing one of `keys`: the newest PER_KEY of each key, each an index range.
    Per key, not overall: a key shared with a large other campaign must not crowd out the keys
    that find this view's own copies. (No DISTINCT either: on a large table it made PostgreSQL
    start parallel workers, which cost more than the whole lookup.)

    `published`: among published views only, read from the partial index of their keys, so the
    work depends on nothing hidden (the form's suggestions: a draft like an unpublished campaign
    must cost what a draft like nothing costs, or its answer's time tells that the campaign is
    waiting)."""
    return set(db.session.execute(_candidates_shape(len(keys), published), _key_values(keys)).scalars())


def candidates(keys: list[int], *, published: bool = False):
    """candidate_ids' query with the keys written in, to be explained (slower to build)."""
    return _candidates_shape(len(keys), published).params(_key_values(keys))


# Written as the partial index's own condition (models.NearDuplicateKey), which both databases
# then read for it; a bound `= true` is not recognised as the same condition.
_PUBLISHED_KEY = text("near_duplicate_key.published")


def _key_values(keys: list[int]) -> dict[str, int]:
    return {f"key{n}": key for n, key in enumerate(keys)}


@lru_cache(maxsize=2 * (near_duplicates.BANDS + 1))
def _candidates_shape(count: int, published: bool):
    # Built once per number of keys, with the keys as parameters: building 32 subqueries took
    # most of a lookup's time (7 ms of 14), and one shape is compiled once.
    which = [_PUBLISHED_KEY] if published else []
    ranges = [
        select(NearDuplicateKey.submission_id)
        .where(NearDuplicateKey.key == bindparam(f"key{n}", type_=BigInteger), *which)
        .order_by(NearDuplicateKey.submission_id.desc())
        .limit(PER_KEY)
        .subquery()
        for n in range(count)
    ]
    return union_all(*(select(r.c.submission_id) for r in ranges))


def closest_copy(signature: near_duplicates.Signature, keys: list[int], *, exclude_id: int | None = None):
    """The stored view most like this signature, at least CAMPAIGN_SIMILARITY alike, or None:
    (id, campaign_id, near_signature) of it, found among the views sharing one of `keys`."""
    ids = candidate_ids(keys) - {exclude_id}
    if not ids:
        return None
    rows = db.session.execute(
        select(Submission.id, Submission.campaign_id, Submission.near_signature).where(
            Submission.id.in_(ids), Submission.near_signature.is_not(None)
        )
    ).all()
    scored = [
        (near_duplicates.similarity(signature, near_duplicates.Signature.from_bytes(row.near_signature)), row)
        for row in rows
    ]
    copies = [(score, row) for score, row in scored if score >= near_duplicates.CAMPAIGN_SIMILARITY]
    return max(copies, key=lambda pair: (pair[0], -pair[1].id))[1] if copies else None


def _start_campaign(first_copy_id: int) -> int:
    campaign = Campaign()
    db.session.add(campaign)
    db.session.flush()
    _quietly_update(first_copy_id, campaign_id=campaign.id)
    workflow.joined_campaign(first_copy_id, campaign.id)
    return campaign.id


def _quietly_update(submission_id: int, **values) -> None:
    """A Core UPDATE: no version bump and the same updated_at, as for a moderator's hold."""
    db.session.execute(
        update(Submission)
        .where(Submission.id == submission_id)
        .values(**values, updated_at=Submission.updated_at)
        .execution_options(synchronize_session=False)
    )


def sizes(campaign_ids: set[int]) -> dict[int, int]:
    """How many views each campaign holds."""
    if not campaign_ids:
        return {}
    rows = db.session.execute(
        select(Submission.campaign_id, func.count())
        .where(Submission.campaign_id.in_(campaign_ids))
        .group_by(Submission.campaign_id)
    )
    return dict(rows.all())


def members(campaign_id: int, *, limit: int = 50) -> list[Submission]:
    """The campaign's views, oldest first."""
    return list(
        db.session.execute(
            select(Submission).where(Submission.campaign_id == campaign_id).order_by(Submission.id).limit(limit)
        ).scalars()
    )


@dataclass(frozen=True)
class Variant:
    """A copy of a campaign as a moderator compares it with the view open: what it adds and drops."""

    copy: Submission
    added: str  # its words the open view lacks ("" when none)
    removed: str  # the open view's words it lacks


# One Chinese character, a word, or one mark of punctuation, as the resident wrote it.
_HAN = HAN_RANGES
_DIFF_TOKEN = re.compile(f"[{_HAN}]|[^\\W_{_HAN}]+|[^\\w\\s]")
_WORD_EDGE = re.compile(f"[^\\W_{_HAN}]")
# Chinese characters and punctuation, and opening brackets and quotes: no space after them.
_NO_SPACE_AFTER = re.compile(f"[{_HAN}\u3000-\u303f\uff00-\uffef([{{\"'\u201c\u2018]")
VARIANT_WORDS = 12


def variants(sub: Submission, copies: list[Submission]) -> list[Variant]:
    """How each other copy differs from `sub`, in its own words: enough to see at a glance which
    copy says something of its own (and should be split out) before deciding for all of them."""
    mine = _DIFF_TOKEN.findall(sub.body)
    found = []
    for copy in copies:
        if copy.id == sub.id:
            continue
        theirs = _DIFF_TOKEN.findall(copy.body)
        added, removed = [], []
        # Compared without case (a copy in capitals says the same), shown as written.
        matcher = difflib.SequenceMatcher(
            a=[t.casefold() for t in mine], b=[t.casefold() for t in theirs], autojunk=False
        )
        for op, a1, a2, b1, b2 in matcher.get_opcodes():
            if op in ("replace", "delete"):
                removed.append(mine[a1:a2])
            if op in ("replace", "insert"):
                added.append(theirs[b1:b2])
        found.append(Variant(copy, _shown(added), _shown(removed)))
    return found


def _shown(chunks: list[list[str]]) -> str:
    """The changed passages as text, "…" between them, at most VARIANT_WORDS tokens in all."""
    shown, left = [], VARIANT_WORDS
    for chunk in chunks:
        shown.append(_joined(chunk[:left]))
        left -= len(chunk)
        if left <= 0:
            break
    cut = left < 0 or len(shown) < len(chunks)
    return " … ".join(shown) + (" …" if cut else "")


def _joined(tokens: list[str]) -> str:
    """Tokens as text: a space before a word unless it follows Chinese or an opening mark."""
    text = ""
    for token in tokens:
        if text and _WORD_EDGE.match(token) and not _NO_SPACE_AFTER.match(text[-1]):
            text += " "
        text += token
    return text


def waiting_copies(campaign_id: int, *, other_than: int) -> list[int]:
    """The campaign's other copies still waiting for a moderator."""
    return list(
        db.session.execute(
            select(Submission.id)
            .where(Submission.campaign_id == campaign_id, workflow.awaiting_review(), Submission.id != other_than)
            .order_by(Submission.id)
        ).scalars()
    )


def split_out(submission_id: int, *, actor) -> None:
    """A moderator found the view is not a copy after all: it leaves its campaign (audited)."""
    with write_transaction():
        sub = db.session.get(Submission, submission_id, with_for_update=True)
        if sub is None or sub.campaign_id is None:
            return
        workflow.left_campaign(sub.id, sub.campaign_id, actor=actor)
        _quietly_update(sub.id, campaign_id=None)
