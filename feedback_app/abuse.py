"""Why a view looks like abuse or spam: flags with reasons, for a moderator to decide on.

A flag never deletes or hides a view. It keeps the view from being routed to a bureau without a
person's look (routing.decide), and the review queue shows and filters it. The checks are cheap
pattern checks run when a view is stored (a few microseconds for a resident-length view).
"""
from __future__ import annotations

import re
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

TERMS_FILE = Path(__file__).resolve().parent / "data" / "abusive_terms.txt"


class Flag(StrEnum):
    ABUSIVE_LANGUAGE = "abusive_language"  # profanity or a slur from the word list
    LINK_SPAM = "link_spam"                # several links, or a link with hardly any words
    GIBBERISH = "gibberish"                # keyboard mashing, one character over and over


_LINK = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_LATIN_WORD = re.compile(r"[A-Za-z]+")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]")
# The same letter or character eight or more times in a row ("aaaaaaaaa", "哈哈" is fine).
_RUN = re.compile(r"([^\W\d_])\1{7,}")
# Links: this many in one view, or one with fewer than LINK_WORDS other characters beside it.
MANY_LINKS = 3
LINK_WORDS = 40
# A Latin "word" this long with hardly a vowel in it is a keyboard, not a language.
MASH_LENGTH = 12
MASH_VOWELS = 0.15


@lru_cache(maxsize=1)
def _terms() -> tuple[re.Pattern | None, tuple[str, ...]]:
    """(one pattern for the Latin words, the Chinese phrases) from the word list."""
    latin, chinese = [], []
    for line in TERMS_FILE.read_text(encoding="utf-8").splitlines():
        term = line.strip()
        if not term or term.startswith("#"):
            continue
        if _CJK.search(term):
            chinese.append(term)
        else:
            stem = re.escape(term.rstrip("*").lower())
            latin.append(stem + (r"[A-Za-z]*" if term.endswith("*") else ""))
    # Bounded by what is not a Latin letter or digit, not by \b: Chinese characters count as word
    # characters to \b, and "呢個fucking政府" is how Hong Kong people write.
    pattern = re.compile(r"(?<![A-Za-z0-9])(?:" + "|".join(latin) + r")(?![A-Za-z0-9])", re.IGNORECASE) if latin else None
    return pattern, tuple(chinese)


def _abusive(text: str) -> bool:
    pattern, chinese = _terms()
    return bool(pattern and pattern.search(text)) or any(term in text for term in chinese)


def _link_spam(text: str) -> bool:
    links = _LINK.findall(text)
    if not links:
        return False
    rest = _LINK.sub("", text)
    return len(links) >= MANY_LINKS or len(rest.strip()) < LINK_WORDS


def _gibberish(text: str) -> bool:
    if _RUN.search(text):
        return True
    for word in _LATIN_WORD.findall(_LINK.sub(" ", text)):
        if len(word) >= MASH_LENGTH:
            vowels = sum(ch in "aeiouyAEIOUY" for ch in word)
            if vowels / len(word) < MASH_VOWELS:
                return True
    compact = "".join(text.split())
    # "asdasdasdasdasd": a long text made of two or three different characters.
    return len(compact) >= 15 and len(set(compact.lower())) <= 3


def flags_for(text: str) -> list[Flag]:
    """The reasons `text` should have a moderator's look before anything else happens to it."""
    checks = ((Flag.ABUSIVE_LANGUAGE, _abusive), (Flag.LINK_SPAM, _link_spam), (Flag.GIBBERISH, _gibberish))
    return [flag for flag, check in checks if check(text)]


def stored(flags: list[Flag]) -> str:
    return ",".join(flags)


def parse(value: str | None) -> list[str]:
    return [code for code in (value or "").split(",") if code]
