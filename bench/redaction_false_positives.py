"""How much ordinary text the masking hides, and what masking costs.

The classifier's corpus (`classifier/data/corpus_*.jsonl` and the off-topic lines) is views and
chit-chat as residents write them, in English, Cantonese and both Chinese scripts, with numbers
of every ordinary kind (years, amounts, routes, case numbers, hotlines) and no one's personal
data — so whatever `find_personal_data` finds there is a false positive. The catalogue's own
descriptions (initiatives, bureaus' remits, areas: official text full of years, amounts and
programme names) are measured the same way, and so is the app's own interface text in English
and Traditional Chinese (its translation catalogue: labels, help, the collection statement).

A word here is what a reader counts: a run of letters or digits of any non-Han script
("don't" is two: the apostrophe splits it, as it does a search term), or one Han character
(Chinese is written without spaces and the character is the unit both the classifier and the
search index read). A word is masked when any of its characters lies inside a finding. The
share of words masked and the share of lines with any finding are printed per kind.

`python -m bench redaction` runs this part alone; `make bench` runs it with the others.
"""

from __future__ import annotations

import re
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from babel.messages.pofile import read_po

from classifier.data import catalogue_examples, default_data_paths, default_offtopic_paths, load_examples, load_offtopic
from classifier.text import chinese_terms, english_terms
from feedback_app.kernel.search import HAN
from feedback_app.text.redaction import find_personal_data

_WORD = re.compile(rf"[{HAN}]|[^\W_{HAN}]+")
REPEAT = 5
SHOWN = 12
CATALOGUE = Path(__file__).resolve().parent.parent / "feedback_app" / "kernel" / "reference_data"
TRANSLATIONS = Path(__file__).resolve().parent.parent / "feedback_app/translations/zh_Hant/LC_MESSAGES/messages.po"


def corpus_lines() -> list[str]:
    """Every line of the classifier's corpus: the labelled views, then the off-topic texts."""
    return [e.text for e in load_examples(default_data_paths())] + load_offtopic(default_offtopic_paths())


def catalogue_lines() -> list[str]:
    """The catalogue's descriptions as the classifier reads them, one per initiative, remit and area."""
    return [e.text for e in catalogue_examples(CATALOGUE)]


def interface_lines() -> list[str]:
    """Every English message of the interface and its Traditional Chinese translation."""
    with open(TRANSLATIONS, "rb") as handle:
        catalog = read_po(handle)
    lines = []
    for message in catalog:
        if not message.id:  # the catalogue's header, not a message
            continue
        for text in (message.id if isinstance(message.id, tuple) else (message.id,)) + (
            message.string if isinstance(message.string, tuple) else (message.string,)
        ):
            if text:
                lines.append(text)
    return lines


def word_spans(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in _WORD.finditer(text)]


@dataclass
class FalsePositives:
    lines: int = 0
    words: int = 0
    masked_words: int = 0
    lines_with_finding: int = 0
    words_by_kind: Counter = field(default_factory=Counter)
    lines_by_kind: Counter = field(default_factory=Counter)
    examples: list[tuple[str, str, str]] = field(default_factory=list)  # kind, what was masked, the line

    @property
    def word_share(self) -> float:
        return self.masked_words / self.words if self.words else 0.0

    @property
    def line_share(self) -> float:
        return self.lines_with_finding / self.lines if self.lines else 0.0


def measure(lines: list[str] | None = None) -> FalsePositives:
    """The words and lines of `lines` (the corpus by default) that the masking would hide."""
    result = FalsePositives()
    for line in corpus_lines() if lines is None else lines:
        findings = find_personal_data(line)
        words = word_spans(line)
        result.lines += 1
        result.words += len(words)
        if not findings:
            continue
        result.lines_with_finding += 1
        for kind in {f.kind for f in findings}:
            result.lines_by_kind[kind] += 1
        for start, end in words:
            kinds = {f.kind for f in findings if f.start < end and start < f.end}
            if kinds:
                result.masked_words += 1
                result.words_by_kind[min(kinds)] += 1  # a word two findings touch counts once
        for f in findings:
            if len(result.examples) < SHOWN:
                result.examples.append((f.kind, line[f.start : f.end], line))
    return result


def _median_seconds(fn) -> float:
    samples = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def report(name: str, result: FalsePositives) -> None:
    print(f"masking over {name}: {result.lines} lines, {result.words} words")
    print(f"  words masked   {result.masked_words:6d}  {result.word_share:.4%}")
    print(f"  lines masked   {result.lines_with_finding:6d}  {result.line_share:.4%}")
    for kind in sorted(set(result.lines_by_kind)):
        print(
            f"  {kind:<12} {result.words_by_kind[kind]:5d} words ({result.words_by_kind[kind] / result.words:.4%}),"
            f" {result.lines_by_kind[kind]:4d} lines ({result.lines_by_kind[kind] / result.lines:.4%})"
        )
    for kind, masked, line in result.examples:
        print(f"    {kind}: {masked!r} in {line[:100]!r}")


def run() -> FalsePositives:
    lines = corpus_lines()
    result = measure(lines)
    report("the classifier's corpus", result)
    report("the catalogue's descriptions", measure(catalogue_lines()))
    report("the interface's own text", measure(interface_lines()))

    # The cost, against the tokenising the classifier does to every view anyway, timed in this run.
    def mask_all():
        for line in lines:
            find_personal_data(line)

    def tokenise_all():
        for line in lines:
            english_terms(line)
            chinese_terms(line)

    masking, tokenising = _median_seconds(mask_all), _median_seconds(tokenise_all)
    print(
        f"{'masking/classifier tokenising':<34} {masking / tokenising:6.3f}x   (the corpus's {len(lines)} lines;"
        f" {masking * 1e3:.1f} ms vs {tokenising * 1e3:.1f} ms, {masking / len(lines) * 1e6:.0f} µs a line)"
    )
    return result


if __name__ == "__main__":
    run()
