"""The public projection: the one module that says what the public may see of a view.

Every public reader (the public pages, the catalogue's initiative pages, the form's suggestions,
support counts, and later statistics, open data, feeds and the API) reads views through here:
- the published condition, `workflow.published()`, one SQL expression from the workflow's rules;
- the listing that shows a campaign once, at its newest published copy;
- small frozen objects (`PublicView`, `PublicAnswer`) whose text is already the published text
  (a moderator's edit or the view as sent, masked either way), with its mask tokens in the
  reader's language. An answer is Markdown: it is masked as written, then rendered to safe HTML
  (text/markup.py), each of its languages apart, the reader's first; the bureau's official
  contacts (OfficialContact: published hotlines, addresses on gov.hk) are left as written, a
  resident's number or address beside them is masked. `answer_preview` shows an officer exactly
  that before publishing. A private field (name, e-mail, the text as sent, the client's or a
  supporter's hash, the route's history of decisions) is not there to be shown by mistake.

The tracking page, which the sender alone reaches by a secret link, reads a `TrackedView`:
the same published text, with the view's state and a history without names or reasons, why it
was not accepted (the reason's category, never the moderator's note), where a campaign's answer
can be read when the view has none of its own, and what the sender said of the answer.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from sqlalchemy import ColumnElement, Select, Table, bindparam, func, insert, or_, select, update
from sqlalchemy.orm import Session, aliased, selectinload

from ..extensions import db
from ..text import markup
from ..text.chinese import to_simplified
from ..text.redaction import PLACEHOLDERS, find_personal_data, published_text, redact, span_key
from . import events, workflow
from . import search as text_search
from .catalogue import AreaRef, InitiativeRef
from .models import (
    Answer,
    AnswerFeedback,
    AuditAction,
    AuditEvent,
    OfficialContact,
    PublicState,
    Status,
    Submission,
    Support,
    utcnow,
)

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
class AnswerPart:
    """An answer in one language: masked, then rendered from its Markdown (text/markup.py)."""

    language: str  # "en" or "zh": the lang attribute of the element that holds it
    html: Markup  # safe HTML, the only Markup this module makes


@dataclass(frozen=True)
class PublicAnswer:
    """A bureau's answer as published: each language masked and rendered, the reader's first."""

    bureau_code: str
    parts: tuple[AnswerPart, ...]
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
    closing_note: str | None  # what the bureau said when it closed the view, masked
    copies: int  # published copies it stands for: more than one for a campaign, shown once
    supporters: int  # each supporter once, over the campaign's copies when it stands for one


@dataclass(frozen=True)
class PublicEvent:
    """A step in a view's history as its sender sees it: when, and what happened (no one's name)."""

    created_at: datetime
    action: str


@dataclass(frozen=True)
class SenderFeedback:
    """What the sender said when asked "did this answer your point?" (their own words, unmasked:
    only they and the bureau read it)."""

    verdict: str  # models.Verdict
    comment: str | None
    created_at: datetime


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
    closing_note: str | None  # what the bureau said when it closed the view, masked
    history: tuple[PublicEvent, ...]
    # Why a moderator did not accept it (models.RejectionReason), while it stays rejected.
    rejection_reason: str | None = None
    # A view with no answer of its own in a campaign whose published copy was answered: that
    # copy's reference, whose public page (/views/<reference>) shows the campaign's answer.
    campaign_answer: str | None = None
    # The sender's "did this answer your point?", once given.
    feedback: SenderFeedback | None = None

    @property
    def no_answer_follows(self) -> bool:
        """Rejected or closed: the bureau will not answer (further)."""
        return self.status in (Status.REJECTED, Status.CLOSED)

    @property
    def asks_feedback(self) -> bool:
        """Answered and not yet judged: the page asks once whether the answer helped."""
        return bool(self.answers) and self.feedback is None


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


@dataclass(frozen=True)
class Scope:
    """Whose published views a list shows: an initiative's, a smart area's general views (those on
    no initiative), a smart area's (search), or all (search). The lists' two scopes each match an
    index on (their column, visibility, id), so a page newest first is one backward range scan
    (ix_submission_initiative_visibility_id, ix_submission_topic_area_visibility_id)."""

    initiative_id: int | None = None
    area_code: str | None = None
    general_only: bool = False  # with area_code: only views on no initiative

    @classmethod
    def initiative(cls, initiative_id: int) -> Scope:
        return cls(initiative_id=initiative_id)

    @classmethod
    def area(cls, code: str) -> Scope:
        """The area's general views, as its page lists them."""
        return cls(area_code=code, general_only=True)

    def where(self, view: workflow.View = Submission) -> list[ColumnElement[bool]]:
        """The published views in the scope (`view`: Submission or an alias of it)."""
        where = [published(view)]
        if self.initiative_id is not None:
            where.append(view.initiative_id == self.initiative_id)
        if self.area_code is not None:
            where.append(view.topic_area_code == self.area_code)
            if self.general_only:
                where.append(view.initiative_id.is_(None))
        return where


def _scope(scope: Scope | int) -> Scope:
    # An initiative's id alone still names its scope (the lists' first callers).
    return scope if isinstance(scope, Scope) else Scope.initiative(scope)


def listing(scope: Scope | int) -> Select[tuple[Submission]]:
    """The scope's published views, a campaign once, at its newest published copy in the scope
    (as consultations report them)."""
    scope = _scope(scope)
    copy = aliased(Submission)
    newest_copy = (
        select(func.max(copy.id))
        .where(copy.campaign_id == Submission.campaign_id, *scope.where(copy))
        .scalar_subquery()
    )
    return select(Submission).where(*scope.where(), or_(Submission.campaign_id.is_(None), Submission.id == newest_copy))


def _loaded(stmt: Select[tuple[Submission]]) -> Select[tuple[Submission]]:
    return stmt.options(
        selectinload(Submission.answers),
        selectinload(Submission.initiative),
        selectinload(Submission.topic_area),
    )


def view(reference: str) -> PublicView | None:
    """The published view with this reference; None for any other (unpublished, rejected, none)."""
    sub = db.session.execute(_view_statement(), {"reference": reference}).scalar_one_or_none()
    return _project([sub])[0] if sub is not None else None


# Built once per process: building a statement with its subquery and loader options took about a
# quarter of a public page's time (issue 19), compiling it is cached by SQLAlchemy, and the
# values come as bound parameters.
@functools.cache
def _view_statement() -> Select[tuple[Submission]]:
    return _loaded(select(Submission).where(Submission.reference == bindparam("reference"), published()))


@functools.cache
def _page_statement(kind: str, after: bool, size: int) -> Select[tuple[Submission]]:
    # The scope's value as a bound parameter in place of the id or code the dataclass types.
    value: Any = bindparam("scope")
    scope = Scope(initiative_id=value) if kind == "initiative" else Scope(area_code=value, general_only=True)
    stmt = listing(scope)
    if after:
        stmt = stmt.where(Submission.id < bindparam("after"))
    return _loaded(stmt).order_by(Submission.id.desc()).limit(size + 1)


def views_on(scope: Scope | int, *, after: int | None, size: int) -> PublicPage:
    """A page of `listing(scope)`, newest first, cut at id `after`."""
    scope = _scope(scope)
    kind: str
    value: int | str
    if scope.initiative_id is not None:
        kind, value = "initiative", scope.initiative_id
    elif scope.area_code is not None and scope.general_only:
        kind, value = "area", scope.area_code
    else:
        raise ValueError(f"views_on lists an initiative's views or an area's general views, not {scope}")
    rows = list(
        db.session.execute(_page_statement(kind, after is not None, size), {"scope": value, "after": after}).scalars()
    )
    more = len(rows) > size
    rows = rows[:size]
    return PublicPage(_project(rows, scope=scope), rows[-1].id if more else None, after is None)


# --- search over published views ---------------------------------------------------------------

# At most this many published views whose text AS SENT holds the words are looked at per request;
# a page of results can be short (its pager goes on from where this one stopped).
SEARCH_EXAMINED = 200


@dataclass(frozen=True)
class Found:
    """A page of search results (read by the `pager` macro like a KeysetPage)."""

    items: list[PublicView]
    next_after: int | None
    is_first: bool
    count: int  # views found from `after` on, as far as this request looked (at most a page and one)
    complete: bool  # every candidate was looked at: `count` is all there is from `after` on


def _folded(text: str) -> str:
    # What a term and a published text are compared as: width and case folded, Simplified.
    return to_simplified(unicodedata.normalize("NFKC", text).casefold())


def search(query: str, scope: Scope, *, after: int | None, size: int) -> Found | None:
    """Published views whose PUBLISHED text holds every word of `query`, newest first, a campaign
    once (as `listing` shows it); None for a query with no words.

    The text-search index (kernel/search.py) is of the view as sent, which holds the personal
    data that publishing masks: it only finds candidates among published views, and a view is
    kept only if its masked published text (as the reader sees it, Simplified and Traditional
    folded together) holds every word. So a masked phone number, e-mail address or name finds
    nothing. The work is bounded: at most SEARCH_EXAMINED candidates are read per request, and
    masked only until a page and one more are found."""
    words = text_search.terms(query)
    if not words:
        return None
    condition = text_search.matching(query, db.session.get_bind().dialect.name)
    stmt = listing(scope).where(condition) if condition is not None else listing(scope)
    if after is not None:
        stmt = stmt.where(Submission.id < after)
    candidates = list(db.session.execute(stmt.order_by(Submission.id.desc()).limit(SEARCH_EXAMINED + 1)).scalars())
    tokens, wanted = mask_tokens(), [_folded(w) for w in words]
    found: list[int] = []
    examined = 0
    # Masking is most of the cost (about 0.4 ms a view): stop once the page and one more are found.
    for sub in candidates[:SEARCH_EXAMINED]:
        examined += 1
        if all(w in _folded(published_text(sub, placeholders=tokens)) for w in wanted):
            found.append(sub.id)
            if len(found) > size:
                break
    complete = examined == len(candidates)  # every candidate looked at, none left behind
    if len(found) > size:
        next_after: int | None = found[size - 1]
    elif not complete:
        next_after = candidates[examined - 1].id
    else:
        next_after = None
    return Found(views_by_id(found[:size]), next_after, after is None, len(found), complete)


def views_by_id(ids: Sequence[int]) -> list[PublicView]:
    """The published views among `ids`, in that order (any other id is left out)."""
    if not ids:
        return []
    rows = db.session.execute(_loaded(select(Submission).where(Submission.id.in_(ids), published()))).scalars()
    by_id = {sub.id: sub for sub in rows}
    return _project([by_id[i] for i in ids if i in by_id])


def _project(subs: list[Submission], *, scope: Scope | None = None) -> list[PublicView]:
    """Published rows as public objects. `scope`: a campaign's copies are counted in that scope
    only (its page lists them), otherwise everywhere.

    Private: only this module's queries, each selecting with `published()`, hand it rows.
    """
    tokens = mask_tokens()
    contacts = _contacts_for(subs)
    copies = published_copies({s.campaign_id for s in subs if s.campaign_id is not None}, scope=scope)
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
            answers=_answers(sub, tokens, contacts),
            closing_note=_closing_note(sub, tokens),
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
        answers=_answers(sub, tokens, _contacts_for([sub])),
        closing_note=_closing_note(sub, tokens),
        history=tuple(
            PublicEvent(e.created_at, e.action)
            for e in workflow.history(sub)
            if e.action not in workflow.INTERNAL_EVENTS
        ),
        rejection_reason=sub.rejection_reason if sub.status == Status.REJECTED else None,
        campaign_answer=_campaign_answer(sub) if not sub.answers else None,
        feedback=sender_feedback(sub.id),
    )


def _campaign_answer(sub: Submission) -> str | None:
    """The reference of the campaign's newest published copy that has an answer, if any: read
    through `published()`, so its link opens a page the public may see."""
    if sub.campaign_id is None:
        return None
    answered = select(Answer.id).where(Answer.submission_id == Submission.id).exists()
    return db.session.execute(
        select(Submission.reference)
        .where(Submission.campaign_id == sub.campaign_id, Submission.id != sub.id, published(), answered)
        .order_by(Submission.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def sender_feedback(submission_id: int) -> SenderFeedback | None:
    """What the sender of this view said of its answer, if they said it."""
    row = db.session.execute(
        select(AnswerFeedback.verdict, AnswerFeedback.comment, AnswerFeedback.created_at).where(
            AnswerFeedback.submission_id == submission_id
        )
    ).one_or_none()
    return SenderFeedback(row.verdict, row.comment, row.created_at) if row is not None else None


def _closing_note(sub: Submission, tokens: Mapping[str, str]) -> str | None:
    # Shown only while the view is closed (a reopened view's note was cleared by the workflow).
    return redact(sub.closing_note, placeholders=tokens) if sub.closing_note else None


def _area(sub: Submission) -> AreaRef:
    area = sub.topic_area
    return AreaRef(area.code, area.name_en, area.name_zh)


def _initiative(sub: Submission) -> InitiativeRef | None:
    i = sub.initiative
    return InitiativeRef(i.id, i.code, i.area_code, i.title_en, i.title_zh) if i is not None else None


# --- answers ---------------------------------------------------------------------------------

# A Hong Kong number as an official contact is written: 8 digits (2-9 first) or a 9-digit toll-free
# 800 number, with or without +852 / 852 / 00852 and separators.
_HK_PHONE = re.compile(r"(?:00852|852)?([2-9]\d{7}|800\d{6})")
_PHONE_PUNCTUATION = re.compile(r"[\s\-\u2010-\u2015./()\[\]+]")
_GOV_EMAIL = re.compile(r"[a-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*gov\.hk")


def _digits(text: str) -> str:
    return "".join(str(unicodedata.digit(c)) for c in unicodedata.normalize("NFKC", text) if c.isdigit())


def official_contact_key(value: str) -> str | None:
    """What an official contact is compared by: "tel:" and the number's 8 (or 9) digits for a Hong
    Kong phone number however it is written, "mail:" and the address case folded for an e-mail
    address on gov.hk or one of its subdomains; None for anything else (not an official contact)."""
    value = unicodedata.normalize("NFKC", value).strip()
    if "@" in value:
        address = value.casefold()
        return f"mail:{address}" if _GOV_EMAIL.fullmatch(address) and ".." not in address else None
    if not _PHONE_PUNCTUATION.sub("", value).isdigit():
        return None
    match = _HK_PHONE.fullmatch(_digits(value))
    return f"tel:{match.group(1)}" if match else None


def _is_official(kind: str, found: str, official: Collection[str]) -> bool:
    if kind == "phone":
        match = _HK_PHONE.fullmatch(_digits(found))
        return match is not None and f"tel:{match.group(1)}" in official
    if kind == "email":
        return f"mail:{span_key(found)}" in official
    return False


def _masked(source: str, official: Collection[str], tokens: Mapping[str, str], *, markdown: bool = True) -> str:
    """`source` with each finding of text/redaction.py replaced by its token, but the bureau's
    official contacts. In Markdown a token is written with escapes ("\\[PHONE\\]"), so it reads
    as itself and never as the label of a link."""
    parts, last = [], 0
    for f in find_personal_data(source):
        if _is_official(f.kind, source[f.start : f.end], official):
            continue
        token = tokens.get(f.kind, PLACEHOLDERS[f.kind])
        parts += [source[last : f.start], re.sub(r"([!-/:-@\[-`{-~])", r"\\\1", token) if markdown else token]
        last = f.end
    parts.append(source[last:])
    return "".join(parts)


def _rendered(source: str, official: Collection[str], tokens: Mapping[str, str], *, strict: bool) -> Markup:
    try:
        return Markup(markup.render(_masked(source, official, tokens)))  # nosec B704 - nh3-cleaned HTML, allow-listed tags
    except markup.MarkupTooLarge:
        if strict:
            raise
        # An answer stored before the limits, or over them: its text as plain paragraphs.
        text = _masked(source, official, tokens, markdown=False)
        paragraphs = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
        # Every line passes through escape(); the only markup added is our own <p> and <br>.
        return Markup("\n").join(
            Markup("<p>%s</p>") % Markup("<br>\n").join(map(escape, p.splitlines())) for p in paragraphs
        )


def _reader_language() -> str:
    return str(get_locale() or "en")


def _public_answer(
    answer: Answer, official: Collection[str], tokens: Mapping[str, str], *, strict: bool = False
) -> PublicAnswer:
    parts = []
    for language, text in answer.texts(_reader_language()):
        html = _rendered(text, official, tokens, strict=strict)
        if html:
            parts.append(AnswerPart(language, html))
    return PublicAnswer(answer.bureau_code, tuple(parts), answer.created_at or utcnow())


def official_contacts(bureau_codes: Iterable[str]) -> dict[str, frozenset[str]]:
    """The official contacts of these bureaus, each as `official_contact_key` reads it."""
    codes = set(bureau_codes)
    if not codes:
        return {}
    rows = db.session.execute(
        select(OfficialContact.bureau_code, OfficialContact.value).where(OfficialContact.bureau_code.in_(codes))
    )
    found: dict[str, set[str]] = {}
    for code, value in rows:
        key = official_contact_key(value)
        if key is not None:
            found.setdefault(code, set()).add(key)
    return {code: frozenset(keys) for code, keys in found.items()}


def _answers(
    sub: Submission, tokens: dict[str, str], contacts: Mapping[str, frozenset[str]]
) -> tuple[PublicAnswer, ...]:
    return tuple(_public_answer(a, contacts.get(a.bureau_code, frozenset()), tokens) for a in sub.answers)


def _contacts_for(subs: Iterable[Submission]) -> dict[str, frozenset[str]]:
    return official_contacts({a.bureau_code for sub in subs for a in sub.answers})


def answer_preview(body: str, translation: str | None, language: str, bureau_code: str) -> PublicAnswer:
    """The answer exactly as the public will see it once published by `bureau_code`: masked but
    for the bureau's official contacts, rendered, the reader's language first. Raises
    markup.MarkupTooLarge when a part cannot be published as it stands (`answer_problems`)."""
    answer = Answer(body=body, translation=translation or None, language=language, bureau_code=bureau_code)
    official = official_contacts([bureau_code]).get(bureau_code, frozenset())
    return _public_answer(answer, official, mask_tokens(), strict=True)


def answer_plain_text(source: str, official: Collection[str]) -> str:
    """An answer's text as a file carries it (open data): its Markdown as written, masked as the
    pages mask it but for the bureau's `official` contacts (`official_contacts`), with the mask
    tokens in English (a downloaded file is the same whoever asks)."""
    return _masked(source, official, PLACEHOLDERS, markdown=False)


MARKUP_PROBLEMS = {
    markup.Problem.TOO_LONG: _l("The answer is too long: at most %(num)s characters.", num=f"{markup.MAX_LENGTH:,}"),
    markup.Problem.TOO_MANY_BRACKETS: _l(
        "The answer has too many links or square brackets: at most %(num)s.", num=f"{markup.MAX_BRACKETS:,}"
    ),
    markup.Problem.TOO_DEEP: _l(
        "Quotes and lists are nested too deeply in the answer: at most %(num)s levels.", num=markup.MAX_DEPTH
    ),
}


def answer_problems(*texts: str | None) -> list[str]:
    """Why these parts of an answer cannot be published as they stand, in the reader's language
    (empty: they can). For the answer form: each message is a form error."""
    found = {problem for text in texts for problem in markup.problems(text)}
    return [str(MARKUP_PROBLEMS[problem]) for problem in markup.Problem if problem in found]


def published_copies(campaign_ids: set[int], *, scope: Scope | int | None = None) -> dict[int, int]:
    """How many published copies each campaign has, in the scope if one is given."""
    if not campaign_ids:
        return {}
    where = _scope(scope).where() if scope is not None else [published()]
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


def tally(scope: Scope | int) -> Tally:
    """The scope's published views counted as `listing` shows them."""
    where = _scope(scope).where()
    entry = func.coalesce(-Submission.campaign_id, Submission.id)
    per_entry = select(func.count().label("copies")).where(*where).group_by(entry).subquery()
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
        .where(*where)
        .subquery()
    )
    supporters = db.session.execute(select(func.count()).select_from(supports)).scalar_one()
    return Tally(int(views), entries, campaigns, supporters)


# --- what the public sees has changed: the version caches and ETags are keyed on ----------------

# The changes that alter a public page: what is published and how, answers, closing notes, the
# copies a campaign stands for. Support is counted through `mark_changed` by its own service.
PUBLIC_CHANGES = (
    AuditAction.VISIBILITY_PUBLISHED,
    AuditAction.VISIBILITY_HIDDEN,
    AuditAction.PUBLIC_TEXT_EDITED,
    AuditAction.NOT_PERSONAL_MARKED,
    AuditAction.ANSWERED,
    AuditAction.CLOSED,
    AuditAction.REOPENED,
    AuditAction.BUREAU_REOPENED,
    AuditAction.REJECTED,
    AuditAction.JOINED_CAMPAIGN,
    AuditAction.SPLIT_FROM_CAMPAIGN,
)
_STATE_ID = 1


@dataclass(frozen=True)
class State:
    """How far what the public sees has changed (models.PublicState)."""

    version: int
    changed_at: datetime
    stats_refreshed_at: datetime | None


def mark_changed(session: Session | None = None) -> None:
    """Move the public version on, in the current transaction: committed with the change, or not
    at all. One single-row UPDATE (Core, so it may run while the session flushes)."""
    connection = (session or db.session).connection()
    table = cast(Table, PublicState.__table__)
    changed = connection.execute(
        update(table).where(table.c.id == _STATE_ID).values(version=table.c.version + 1, changed_at=utcnow())
    )
    if changed.rowcount == 0:  # a database made before migration 0022's row (a test's create_all)
        connection.execute(insert(table).values(id=_STATE_ID, version=1, changed_at=utcnow()))


@events.on_record(*PUBLIC_CHANGES, name="public.version")
def _public_change_recorded(session: Session, _event: AuditEvent) -> None:
    mark_changed(session)


@functools.cache
def _state_statement() -> Select[tuple[int, datetime, datetime | None]]:
    table = cast(Table, PublicState.__table__)
    return select(table.c.version, table.c.changed_at, table.c.stats_refreshed_at).where(table.c.id == _STATE_ID)


def state() -> State:
    """The public version, when it last moved, and when the statistics last took a change in."""
    # Core on the session's connection, one statement built once: every public page asks this
    # first (web/public_cache.py), and the ORM's way took twice as long (0.25 ms against 0.11).
    row = db.session.connection().execute(_state_statement()).one_or_none()
    if row is None:
        return State(0, datetime(2020, 1, 1, tzinfo=UTC), None)
    return State(row.version, row.changed_at, row.stats_refreshed_at)
