"""A bureau's answer, written in Markdown, as safe HTML for the public pages.

Two steps, each enough on its own to keep script out:
1. markdown-it-py in its CommonMark preset with raw HTML off: whatever the officer types is text,
   `<script>` included. What a public answer needs is on: paragraphs (a single line break is kept
   as a line break, so plain text comes out as it was typed), *emphasis* and **strong**, lists,
   quotes, links (`[text](https://...)` and `<https://...>`), headings and a rule. Off: images (an
   answer does not load pictures from other sites), indented code (text pasted with leading spaces
   stays a paragraph; fenced code remains). A link must be absolute and http, https, mailto or tel:
   any other (javascript:, data:, a relative address, one with square brackets such as a masked
   "mailto:[EMAIL]") is shown as text.
   Headings are moved down three levels (# is h4, ## h5, ### and below h6): the page around an
   answer has its h1 to h3, and an answer never outranks them.
2. nh3 with an allow-list of tags and attributes (ALLOWED_TAGS, ALLOWED_ATTRIBUTES); every link
   gets rel="nofollow ugc noopener".

Hostile input is refused before any work, with a `Problem` the answer form shows as an error:
more than MAX_LENGTH characters (so a megabyte of links costs nothing), more than MAX_BRACKETS
opening square brackets (link labels are the costliest thing to parse), or containers (quotes and
lists) nested deeper than MAX_DEPTH. Within the limits the costliest inputs we know of (the
CommonMark pathological cases) render in a few tenths of a second at most; a bomb is refused in
well under a millisecond. `problems(text)` lists what is wrong; `render(text)` raises `MarkupTooLarge`.
"""

from __future__ import annotations

import re
from enum import StrEnum
from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token

MAX_LENGTH = 20_000
MAX_BRACKETS = 1_000
# Quotes and lists inside one another; a list item counts once (its list and item one level).
MAX_DEPTH = 8
# markdown-it stops reading blocks (silently) at this many token levels; a list costs two (the
# list and its item), a quote one, so any input it would cut short is deeper than MAX_DEPTH.
_MAX_NESTING = 2 * (MAX_DEPTH + 1) + 4
HEADING_SHIFT = 3  # "#" is h4

LINK_SCHEMES = frozenset({"http", "https", "mailto", "tel"})
LINK_REL = "nofollow ugc noopener"
ALLOWED_TAGS = frozenset(
    {"p", "br", "strong", "em", "a", "ul", "ol", "li", "h4", "h5", "h6", "blockquote", "code", "pre", "hr"}
)
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {"a": {"href", "title"}, "ol": {"start"}}


class Problem(StrEnum):
    TOO_LONG = "too_long"
    TOO_MANY_BRACKETS = "too_many_brackets"
    TOO_DEEP = "too_deep"


PROBLEM_MESSAGES = {
    Problem.TOO_LONG: f"The text is too long: at most {MAX_LENGTH:,} characters.",
    Problem.TOO_MANY_BRACKETS: f"The text has too many links or square brackets: at most {MAX_BRACKETS:,}.",
    Problem.TOO_DEEP: f"Quotes and lists are nested too deeply: at most {MAX_DEPTH} levels.",
}


class MarkupTooLarge(ValueError):
    """The text is refused as it stands (`problem` says why); nothing was rendered."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(PROBLEM_MESSAGES[problem])
        self.problem = problem


# Square brackets, as typed or percent-encoded (ASCII and full-width): a masked piece of personal
# data ("[EMAIL]", "［電郵］") in a link's address leaves the link pointing nowhere, so it is text.
_BRACKETS = re.compile(r"[\[\]［］]|%5b|%5d|%ef%bc%bb|%ef%bc%bd", re.IGNORECASE)


def _is_allowed_link(url: str) -> bool:
    scheme, colon, rest = url.strip().partition(":")
    if not colon or scheme.lower() not in LINK_SCHEMES:
        return False
    # http(s) needs a host; mailto and tel need something after the colon.
    return rest.startswith("//") and len(rest) > 2 if scheme.lower() in ("http", "https") else bool(rest)


def _parser() -> MarkdownIt:
    md = MarkdownIt(
        "commonmark",
        {"html": False, "breaks": True, "linkify": False, "typographer": False, "maxNesting": _MAX_NESTING},
    )
    md.disable(["image", "code", "html_block", "html_inline"])
    normalize = md.normalizeLink

    def normalize_unless_bracketed(url: str) -> str:
        # Checked before normalising, which would turn "mailto:[EMAIL]" into "mailto:EMAIL".
        return "" if _BRACKETS.search(url) else normalize(url)

    md.normalizeLink = normalize_unless_bracketed  # type: ignore[method-assign]
    md.validateLink = _is_allowed_link  # type: ignore[method-assign]
    return md


_MD = _parser()
_CONTAINERS = {"blockquote_open": 1, "blockquote_close": -1, "list_item_open": 1, "list_item_close": -1}


def _depth(tokens: list[Token]) -> int:
    depth = deepest = 0
    for token in tokens:
        depth += _CONTAINERS.get(token.type, 0)
        deepest = max(deepest, depth)
    return deepest


def _clean_attribute(tag: str, attribute: str, value: str) -> str | None:
    # nh3 keeps relative links; an answer's links are absolute (markdown-it let no other through).
    if tag == "a" and attribute == "href" and not _is_allowed_link(value):
        return None
    return value


def _cheap_problems(text: str) -> list[Problem]:
    found = []
    if len(text) > MAX_LENGTH:
        found.append(Problem.TOO_LONG)
    elif text.count("[") > MAX_BRACKETS:
        found.append(Problem.TOO_MANY_BRACKETS)
    return found


def problems(text: str | None) -> list[Problem]:
    """What keeps `text` from being rendered (empty: it renders). Cheap: at most one parse of a
    text within the length limit."""
    if not text:
        return []
    found = _cheap_problems(text)
    if found:
        return found
    try:
        _render(text)
    except MarkupTooLarge as exc:
        return [exc.problem]
    return []


def render(text: str | None) -> str:
    """`text` (Markdown) as safe HTML; "" for no text. Raises MarkupTooLarge (see `problems`)."""
    if not text or not text.strip():
        return ""
    for problem in _cheap_problems(text):
        raise MarkupTooLarge(problem)
    return _render(text)


@lru_cache(maxsize=512)
def _render(text: str) -> str:
    # Cached: a public page renders the same answers again and again (a campaign's copies).
    tokens = _MD.parse(text)
    if _depth(tokens) > MAX_DEPTH:
        raise MarkupTooLarge(Problem.TOO_DEEP)
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(int(token.tag[1]) + HEADING_SHIFT, 6)}"
    html = _MD.renderer.render(tokens, _MD.options, {})
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=_clean_attribute,
        url_schemes=set(LINK_SCHEMES),
        link_rel=LINK_REL,
        strip_comments=True,
    ).strip()
