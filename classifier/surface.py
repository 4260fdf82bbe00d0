"""A model's strongest features told in the words the resident typed.

Features are what the model counts (stems and their bigrams, Chinese character n-grams of the
text converted to Traditional), which staff cannot read: "caus congest", or 輸署 cut out of
運輸署. An explanation shows instead the stretch of the original text each feature came from:
"causing congestion", "運輸署", in the resident's own casing, full-width forms and script.

Features whose stretches overlap are one entry (運, 運輸, 輸署 and 運輸署 are all 運輸署), with
their weights summed. A feature that occurs several times shares its weight between its
occurrences, and occurrences that read the same ("bus" here, "Bus" there) are one entry again,
shown as first typed. A feature that does not occur in the text at all has no words to show
and is left out.

An English bigram joins its two words into one stretch ("causing congestion", "buses.
Congestion") unless that would make a long one: bigrams overlap each other, and in 300 corpus
texts chains of them joined up to 85 characters ("funded apps for the elderly have few
downloads. Has anyone evaluated whether"), which reads as a quotation, not as the words that
counted. Such a bigram, and one whose words have Chinese between them (English words are
paired across it: "service要等一個鐘，想cancel"), is shown as its two words.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable
from functools import lru_cache

from . import text

# A Chinese n-gram is shown as the whole run of Han characters around it when that run is this
# short: 運輸署 rather than 輸署, but not a whole unpunctuated sentence for one of its words.
SHORT_HAN_RUN = 6
# The longest stretch a bigram may join words into (characters as typed): "Queen Elizabeth
# Hospital is overcrowded" is 39.
LONGEST_JOINED = 30
# An entry that would read "+0.00" explains nothing (weights are shown to two decimals).
MIN_WEIGHT = 0.005

SPANS: dict[str, Callable[[str], list[text.TermSpan]]] = {
    "en": text.english_spans,
    "zh": lambda text_: text.chinese_spans(text_, widen_runs_up_to=SHORT_HAN_RUN),
}

Range = tuple[int, int]


def words(text_: str, pulls: Iterable[tuple[str, str, float]], top_n: int) -> tuple[tuple[str, float], ...]:
    """(words as typed, summed weight), strongest first, at most `top_n`.

    `pulls` are (analyzer name as in `SPANS`, feature, weight), strongest first: a stronger
    bigram is joined into a stretch before a weaker one.
    """
    located = _occurrences(text_, pulls)
    # Each occurrence's ranges: one, or a bigram's two words when it is not joined.
    kept: list[list[list[Range]]] = [[[(s.start, s.end)] if not s.parts else [] for s in spans] for spans, _ in located]
    stretches = _Stretches()
    for feature in kept:
        for occurrence in feature:
            for range_ in occurrence:
                stretches.add(range_)
    for (spans, _), feature in zip(located, kept, strict=True):
        for span, occurrence in zip(spans, feature, strict=True):
            if span.parts:
                joined = (span.start, span.end)
                start, end = stretches.with_added(joined)
                words_apart = not text.has_chinese(text_[span.parts[0][1] : span.parts[-1][0]])
                occurrence.extend([joined] if words_apart and end - start <= LONGEST_JOINED else span.parts)
                for range_ in occurrence:
                    stretches.add(range_)
    regions = list(zip(stretches.starts, stretches.ends, strict=True))
    starts = [start for start, _ in regions]
    weights = [0.0] * len(regions)
    for (spans, weight), feature in zip(located, kept, strict=True):
        for occurrence in feature:
            for start, _ in occurrence:
                weights[bisect.bisect_right(starts, start) - 1] += weight / len(spans) / len(occurrence)
    # Stretches that read alike are one entry (weights summed), shown as first typed.
    entries: dict[str, tuple[str, float]] = {}
    for (start, end), weight in zip(regions, weights, strict=True):
        surface = text_[start:end]
        key = text.normalise(surface)
        shown, total = entries.get(key, (surface, 0.0))
        entries[key] = (shown, total + weight)
    ranked = sorted(entries.values(), key=lambda entry: -entry[1])  # stable: ties in reading order
    return tuple((shown, weight) for shown, weight in ranked if weight >= MIN_WEIGHT)[:top_n]


def _occurrences(text_: str, pulls: Iterable[tuple[str, str, float]]) -> list[tuple[list[text.TermSpan], float]]:
    """Each feature's occurrences in the text, with its weight; features not in it left out."""
    located = []
    for analyzer, feature, weight in pulls:
        spans = _by_term(analyzer, text_).get(feature) if analyzer in SPANS else None
        if spans:
            located.append((spans, weight))
    return located


@lru_cache(maxsize=4)
def _by_term(analyzer: str, text_: str) -> dict[str, list[text.TermSpan]]:
    """Each term's occurrences (kept for the next call: an explanation asks for the area's
    words and then the bureau's, of the same text). Read only."""
    index: dict[str, list[text.TermSpan]] = {}
    for span in SPANS[analyzer](text_):
        index.setdefault(span.term, []).append(span)
    return index


class _Stretches:
    """Disjoint stretches of text in reading order, the union of the ranges added (ranges that
    share a character are one stretch; ranges that only touch are two)."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []

    def _overlapping(self, added: Range) -> tuple[int, int]:
        """The indices [first, last) of the stretches `added` overlaps."""
        first = bisect.bisect_right(self.ends, added[0])  # ends are sorted too: stretches are disjoint
        last = bisect.bisect_left(self.starts, added[1], lo=first)
        return first, last

    def with_added(self, added: Range) -> Range:
        """The stretch `added` would be part of."""
        first, last = self._overlapping(added)
        if first == last:
            return added
        return min(added[0], self.starts[first]), max(added[1], self.ends[last - 1])

    def add(self, added: Range) -> None:
        start, end = self.with_added(added)
        first, last = self._overlapping(added)
        self.starts[first:last] = [start]
        self.ends[first:last] = [end]
