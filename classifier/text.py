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
from typing import NamedTuple

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


# --- where each term came from ---------------------------------------------------------------
# Explanations show a term as the resident typed it, so each term needs its character range in
# the original text. The functions below tokenise as `english_terms` and `chinese_terms` do
# (a test holds the terms equal) but keep, for every normalised character, the range of the
# original it came from. The feature functions above stay as they are: prediction never pays
# for the offsets.


class TermSpan(NamedTuple):
    """A term and the range of the original text it came from: text[start:end].

    A bigram's range runs from its first word to its second; `parts` are the two words' own.
    """

    term: str
    start: int
    end: int
    parts: tuple[tuple[int, int], ...] = ()


def _clusters(text: str) -> list[tuple[int, int]]:
    """Each character with the combining marks after it: NFKC may compose them into one."""
    if not text:
        return []
    bounds = [i for i in range(1, len(text)) if not unicodedata.combining(text[i])]
    return list(zip([0, *bounds], [*bounds, len(text)], strict=True))


def _traditional_aligned(text: str) -> str:
    """Simplified → Traditional keeping one character for one: the whole text at once (OpenCC
    converts phrases, 头发 → 頭髮 where 发 alone is 發), or each run of Han characters, or each
    character, whichever first keeps the length."""
    converted = _to_traditional()(text)
    if len(converted) == len(text):
        return converted

    def run(match: re.Match[str]) -> str:
        whole = _to_traditional()(match.group())
        if len(whole) == len(match.group()):
            return whole
        return "".join(c if len(c := _to_traditional()(ch)) == 1 else ch for ch in match.group())

    return _CJK_RUN.sub(run, text)


def aligned_normalise(text: str) -> tuple[str, list[tuple[int, int]]]:
    """`normalise(text)` and, for each of its characters, the original range it came from.

    NFKC is applied to each character with its combining marks, lower case to each character:
    the same result as `normalise` for every text the features can tell apart (they see only
    ASCII letters and digits and Han characters).
    """
    pieces: list[str] = []
    origin: list[tuple[int, int]] = []
    for start, end in _clusters(text):
        piece = unicodedata.normalize("NFKC", text[start:end])
        pieces.append(piece)
        origin.extend([(start, end)] * len(piece))
    folded = "".join(pieces)
    if _CJK_RUN.search(folded):
        folded = _traditional_aligned(folded)
    lowered: list[str] = []
    lowered_origin: list[tuple[int, int]] = []
    for ch, source in zip(folded, origin, strict=True):
        low = ch.lower()  # one character may become two ("İ" → "i̇")
        lowered.append(low)
        lowered_origin.extend([source] * len(low))
    return "".join(lowered), lowered_origin


def english_spans(text: str) -> list[TermSpan]:
    """`english_terms(text)` in the same order, each with its range: a bigram's runs from its
    first word to its second, over the stop words and punctuation between them."""
    norm, origin = aligned_normalise(text)
    words = [
        TermSpan(_stem(m.group()), origin[m.start()][0], origin[m.end() - 1][1])
        for m in _WORD.finditer(norm)
        if m.group() not in _STOPWORDS
    ]
    bigrams = [
        TermSpan(f"{a.term} {b.term}", a.start, b.end, ((a.start, a.end), (b.start, b.end)))
        for a, b in zip(words, words[1:], strict=False)
    ]
    return words + bigrams


def chinese_spans(text: str, widen_runs_up_to: int = 0) -> list[TermSpan]:
    """`chinese_terms(text)` in the same order, each with its range.

    A character n-gram may cut across words (輸署 from 運輸署); in a run of Han characters no
    longer than `widen_runs_up_to`, every n-gram's range is the whole run instead.
    """
    norm, origin = aligned_normalise(text)
    spans: list[TermSpan] = []
    for run in _CJK_RUN.finditer(norm):
        first, last = run.start(), run.end()
        whole = (origin[first][0], origin[last - 1][1]) if last - first <= widen_runs_up_to else None
        for n in (1, 2, 3):
            for i in range(first, last - n + 1):
                start, end = whole or (origin[i][0], origin[i + n - 1][1])
                spans.append(TermSpan(norm[i : i + n], start, end))
    return spans
