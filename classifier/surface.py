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
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from . import text

# A Chinese n-gram is shown as the whole run of Han characters around it when that run is this
# short: 運輸署 rather than 輸署, but not a whole unpunctuated sentence for one of its words.
SHORT_HAN_RUN = 6
# An entry that would read "+0.00" explains nothing (weights are shown to two decimals).
MIN_WEIGHT = 0.005

SPANS: dict[str, Callable[[str], list[text.TermSpan]]] = {
    "en": text.english_spans,
    "zh": lambda text_: text.chinese_spans(text_, widen_runs_up_to=SHORT_HAN_RUN),
}


@dataclass
class _Region:
    start: int
    end: int
    weight: float = 0.0


def words(text_: str, pulls: Iterable[tuple[str, str, float]], top_n: int) -> tuple[tuple[str, float], ...]:
    """(words as typed, summed weight), strongest first, at most `top_n`.

    `pulls` are (analyzer name as in `SPANS`, feature, weight) for the features to show.
    """
    located: list[tuple[list[tuple[int, int]], float]] = []
    occurrences: dict[str, dict[str, list[tuple[int, int]]]] = {}
    for analyzer, feature, weight in pulls:
        if analyzer not in occurrences:
            index: dict[str, list[tuple[int, int]]] = {}
            for span in SPANS[analyzer](text_) if analyzer in SPANS else ():
                index.setdefault(span.term, []).append((span.start, span.end))
            occurrences[analyzer] = index
        spans = occurrences[analyzer].get(feature)
        if spans:
            located.append((spans, weight))
    regions = _regions(span for spans, _ in located for span in spans)
    starts = [r.start for r in regions]
    for spans, weight in located:
        for start, _ in spans:
            regions[bisect.bisect_right(starts, start) - 1].weight += weight / len(spans)
    # Regions that read alike are one entry (weights summed), at the place first typed.
    entries: dict[str, tuple[str, float]] = {}
    for region in regions:
        surface = text_[region.start : region.end]
        key = text.normalise(surface)
        shown, weight = entries.get(key, (surface, 0.0))
        entries[key] = (shown, weight + region.weight)
    ranked = sorted(entries.values(), key=lambda entry: -entry[1])  # stable: ties in reading order
    return tuple((shown, weight) for shown, weight in ranked if weight >= MIN_WEIGHT)[:top_n]


def _regions(spans: Iterable[tuple[int, int]]) -> list[_Region]:
    """The spans' union as separate stretches of text, in reading order (sharing a character joins two)."""
    regions: list[_Region] = []
    for start, end in sorted(spans):
        if regions and start < regions[-1].end:
            regions[-1].end = max(regions[-1].end, end)
        else:
            regions.append(_Region(start, end))
    return regions
