"""Why a view looks like abuse or spam: flags with reasons, for a moderator to decide on.

A flag never deletes or hides a view. It keeps the view from being routed to a bureau without a
person's look (routing.decide), and the review queue shows and filters it. The checks are cheap
pattern checks run when a view is stored (a few microseconds for a resident-length view), and
one count of the views lately sent from the same client (intake.services).
"""

from __future__ import annotations

import re
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from . import keys
from .chinese import has_han

TERMS_FILE = Path(__file__).resolve().parent / "data" / "abusive_terms.txt"


class Flag(StrEnum):
    ABUSIVE_LANGUAGE = "abusive_language"  # profanity or a slur from the word list
    LINK_SPAM = "link_spam"  # several links, or a link with hardly any words
    GIBBERISH = "gibberish"  # keyboard mashing, one character over and over
    REPEATED_POSTING = "repeated_posting"  # many views from one client address in a short time


_LINK = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_LATIN_WORD = re.compile(r"[A-Za-z]+")
# The same letter or character eight or more times in a row ("aaaaaaaaa"; "哈哈" is not one).
_RUN = re.compile(r"([^\W\d_])\1{7,}")
_LETTER = re.compile(r"[^\W\d_]")
# Runs and mashed words are how people write too ("哈哈哈哈哈哈哈哈" is Cantonese laughter,
# "soooooooo good"): they make a view gibberish only when they are at least this share of its
# characters, or when fewer than MEANING_LETTERS letters are left without them.
JUNK_SHARE = 1 / 3
MEANING_LETTERS = 6
# Links: this many in one view, or one with fewer than LINK_WORDS other characters beside it.
MANY_LINKS = 3
LINK_WORDS = 40
# A Latin "word" this long with hardly a vowel in it is a keyboard, not a language.
MASH_LENGTH = 12
MASH_VOWELS = 0.15


@lru_cache(maxsize=1)
def _terms() -> tuple[re.Pattern[str] | None, tuple[str, ...]]:
    """(one pattern for the Latin words, the Chinese phrases) from the word list."""
    latin, chinese = [], []
    for line in TERMS_FILE.read_text(encoding="utf-8").splitlines():
        term = line.strip()
        if not term or term.startswith("#"):
            continue
        if has_han(term):
            chinese.append(term)
        else:
            stem = re.escape(term.rstrip("*").lower())
            latin.append(stem + (r"[A-Za-z]*" if term.endswith("*") else ""))
    # Bounded by what is not a Latin letter or digit, not by \b: Chinese characters count as word
    # characters to \b, and "呢個fucking政府" is how Hong Kong people write.
    pattern = (
        re.compile(r"(?<![A-Za-z0-9])(?:" + "|".join(latin) + r")(?![A-Za-z0-9])", re.IGNORECASE) if latin else None
    )
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


def _mashed(word: str) -> bool:
    if len(word) < MASH_LENGTH:
        return False
    vowels = sum(ch in "aeiouyAEIOUY" for ch in word)
    return vowels / len(word) < MASH_VOWELS


def _gibberish(text: str) -> bool:
    text = _LINK.sub(" ", text)
    compact = "".join(text.split())
    # "asdasdasdasdasd": a long text made of two or three different characters.
    if len(compact) >= 15 and len(set(compact.lower())) <= 3:
        return True
    meaning = _RUN.sub(" ", _LATIN_WORD.sub(lambda m: " " if _mashed(m.group()) else m.group(), text))
    junk = len(compact) - len("".join(meaning.split()))
    if not junk:
        return False
    return junk >= JUNK_SHARE * len(compact) or len(_LETTER.findall(meaning)) < MEANING_LETTERS


def flags_for(text: str) -> list[Flag]:
    """The reasons `text` should have a moderator's look before anything else happens to it."""
    checks = ((Flag.ABUSIVE_LANGUAGE, _abusive), (Flag.LINK_SPAM, _link_spam), (Flag.GIBBERISH, _gibberish))
    return [flag for flag, check in checks if check(text)]


def client_hash(address: str | None, key: str | bytes) -> str | None:
    """Who sent a view, as far as repeated posting needs to know: a keyed one-way hash of the
    client's network address, never the address. Without the key (the app's secret key) the
    address cannot be found from it by trying all four billion IPv4 addresses. None when there is
    no address (scripts): such views are never counted as repeated posting.

    After a secret key rotation the same client hashes differently: its count starts again.
    """
    if not address:
        return None
    return keys.keyed_hash(key, "client-address", address)[:32]


def stored(flags: list[Flag]) -> str:
    return ",".join(flags)


def parse(value: str | None) -> list[str]:
    return [code for code in (value or "").split(",") if code]
