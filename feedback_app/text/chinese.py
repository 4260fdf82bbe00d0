"""Chinese text: which characters are Han, and the two scripts converted into each other.

One definition of the Han ranges for the whole app (search, near-copy detection, the abuse
word list, masking, campaign differences): CJK Unified Ideographs with Extension A, the
Compatibility Ideographs, and the supplementary planes (Extensions B onwards), where many
Cantonese characters live (𨋢 lift, 𠵱 now, 啲 is in the basic block, 𡃁 is not).
`classifier/` keeps its own copy, being a library that knows nothing of the app;
tests/test_rules_once.py holds the two equal.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache

HAN_RANGES = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff"
HAN = re.compile(f"[{HAN_RANGES}]")
HAN_RUN = re.compile(f"[{HAN_RANGES}]+")


def has_han(text: str) -> bool:
    return HAN.search(text) is not None


@lru_cache(maxsize=2)
def converter(config: str) -> Callable[[str], str]:
    """OpenCC's conversion by name ("hk2s", "s2hk"); its dictionaries load once, on first use."""
    import opencc  # deferred: loading it takes a moment, and most pages never need it

    return opencc.OpenCC(config).convert


@lru_cache(maxsize=1024)
def to_traditional(text: str) -> str:
    """Simplified characters as Hong Kong writes them, so a search typed in Simplified finds the
    Traditional reference data."""
    return converter("s2hk")(text)


@lru_cache(maxsize=4096)
def to_simplified(text: str) -> str:
    """Reference data is kept in English and Traditional Chinese; Simplified is converted from
    it (Hong Kong variants to Simplified), so the three can never disagree."""
    return converter("hk2s")(text)


def collation_key(name: str) -> str:
    """A key that puts names in Chinese order: Han characters by code point, which within each
    Unicode block is radical-and-stroke order (a Kangxi dictionary's), for Traditional and
    Simplified alike; other letters case-folded.

    A documented fallback (translations/GLOSSARY.md): no collation library with stroke-count or
    pinyin tables (ICU, pypinyin) is installed. Radical-and-stroke order groups names by their
    first character's radical, close to but not the stroke-count order of many Hong Kong lists.
    Extension A characters (from U+3400) sort before the basic block."""
    return unicodedata.normalize("NFKC", name).casefold()
