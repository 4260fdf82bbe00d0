"""Text features that work for English and Chinese without downloaded language data.

English: lower-cased words, Snowball-stemmed (NLTK's stemmer needs no corpus), as unigrams
and bigrams. Chinese: there are no spaces to split on, so single characters plus overlapping
character bigrams and trigrams of each run of CJK characters (single characters added two
points of cross-validated bureau accuracy over bigrams and trigrams alone). Simplified Chinese is converted to Traditional first
(OpenCC ships its dictionaries), so both scripts share one vocabulary.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache

_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")
# The app's definition too (feedback_app/text/chinese.py; a test holds the two equal): the
# supplementary planes included, where many Cantonese characters are (𨋢, 𡃁).
HAN_RANGES = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff"
_CJK_RUN = re.compile(f"[{HAN_RANGES}]+")
_STOPWORDS = frozenset(
    "a an and are as at be been but by can could do does for from had has have i if in into is it its "
    "me my no not of on or our please so that the their them there these they this to us was we were "
    "what when where which who will with would you your".split()
)


@lru_cache(maxsize=1)
def _to_traditional() -> Callable[[str], str]:
    import opencc  # imported lazily: loading its dictionaries takes a moment

    convert: Callable[[str], str] = opencc.OpenCC("s2t").convert
    return convert


def traditional(text: str) -> str:
    """Simplified characters as Traditional (OpenCC s2t); text without Chinese as it is."""
    return _to_traditional()(text) if _CJK_RUN.search(text) else text


def normalise(text: str) -> str:
    """NFKC (full-width letters and digits become ASCII), Simplified → Traditional, lower case."""
    text = unicodedata.normalize("NFKC", text)
    if _CJK_RUN.search(text):
        text = _to_traditional()(text)
    return text.lower()


@lru_cache(maxsize=1)
def _stemmer() -> Callable[[str], str]:
    # Imported on first use: `import nltk` loads the whole of NLTK and, through it, scipy.stats
    # (over a second), and most processes that import this module never stem a word (`flask
    # setup` and every other command, the web app until it first routes a view).
    from nltk.stem.snowball import EnglishStemmer

    stem: Callable[[str], str] = EnglishStemmer(ignore_stopwords=False).stem
    return stem


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    return _stemmer()(word)


def english_terms(text: str) -> list[str]:
    words = [_stem(w) for w in _WORD.findall(normalise(text)) if w not in _STOPWORDS]
    return words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]


def chinese_terms(text: str) -> list[str]:
    terms: list[str] = []
    for run in _CJK_RUN.findall(normalise(text)):
        for n in (1, 2, 3):
            terms.extend(run[i : i + n] for i in range(len(run) - n + 1))
    return terms


def has_chinese(text: str) -> bool:
    return bool(_CJK_RUN.search(text))


LANGUAGES = ("en", "zh")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


def language(text: str) -> str:
    """ "zh" when Chinese characters outnumber English words, else "en".

    Calibration and thresholds are kept per language. Hong Kong mixed text ("個app成日hang機")
    is Chinese with English words in it, so it counts as Chinese unless the English clearly
    dominates.
    """
    chinese = sum(len(run) for run in _CJK_RUN.findall(text))
    english = len(_LATIN_WORD.findall(text))
    return "zh" if chinese and chinese >= english else "en"
