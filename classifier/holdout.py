"""The fixed held-out split that calibration and routing thresholds are chosen on.

Seeded, so the same data always gives the same split (its hash goes into the model's
metadata). Stratified by bureau and language, so every bureau is measured in both. Lines
written the way residents really write (colloquial, Cantonese, mixed, or short) are drawn
more often: thresholds should be set on text like what the platform will receive, not on the
cleanest lines. The catalogue's own descriptions are never held out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from .data import CATALOGUE, Example
from .text import language

HELD_OUT_FRACTION = 0.3
SEED = 0
REALISTIC_REGISTERS = frozenset({"colloquial", "cantonese", "mixed"})
SHORT = 200  # characters; below this an unmarked line reads like a message, not a written question
REALISTIC_WEIGHT = 3.0


def _weight(example: Example) -> float:
    if example.register is None:
        return REALISTIC_WEIGHT if len(example.text) < SHORT else 1.0
    return REALISTIC_WEIGHT if example.register in REALISTIC_REGISTERS else 1.0


def split_examples(
    examples: Sequence[Example],
    *,
    fraction: float = HELD_OUT_FRACTION,
    seed: int = SEED,
) -> tuple[list[int], list[int]]:
    """(training indices, held-out indices) into `examples`.

    Within each (bureau, language) group, a weighted draw without replacement (each line's key
    is u ** (1 / weight), largest keys drawn: Efraimidis–Spirakis) takes round(fraction × size)
    lines, so a group of one or two lines keeps them for training.
    """
    rng = np.random.default_rng(seed)
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, example in enumerate(examples):
        if example.bureau is not None and example.register != CATALOGUE:
            groups[(example.bureau, language(example.text))].append(i)
    held_out: set[int] = set()
    for key in sorted(groups):
        members = groups[key]
        keys = rng.random(len(members)) ** (1.0 / np.array([_weight(examples[i]) for i in members]))
        take = int(round(fraction * len(members)))
        held_out.update(members[j] for j in np.argsort(-keys, kind="stable")[:take])
    training = [i for i in range(len(examples)) if i not in held_out]
    return training, sorted(held_out)


def split_texts(
    texts: Sequence[str],
    *,
    fraction: float = HELD_OUT_FRACTION,
    seed: int = SEED,
) -> tuple[list[str], list[str]]:
    """(training texts, held-out texts) for the unlabelled off-topic set."""
    rng = np.random.default_rng(seed + 1)
    held = set(rng.permutation(len(texts))[: int(round(fraction * len(texts)))].tolist())
    return [t for i, t in enumerate(texts) if i not in held], [t for i, t in enumerate(texts) if i in held]
