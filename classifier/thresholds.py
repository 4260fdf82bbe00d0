"""Routing thresholds: how sure the model must be before a view goes to a bureau unreviewed.

Chosen per language on calibrated held-out probabilities. One shared threshold reaches the
target precision over all bureaus (a lower confidence bound of it, see `CONFIDENCE_Z`); each
bureau's own threshold is chosen on its precision shrunk toward the shared precision curve,
as if `PRIOR_STRENGTH` extra predictions behaved like the average. A bureau with a handful of held-out predictions therefore gets (nearly) the shared
threshold, never "never route"; a bureau with many gets one its own record earns.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

NEVER = 1.01  # above any probability: every prediction is reviewed by a person
# 20 left one well-supported English bureau unroutable because of a single confident mistake;
# 80 erased the differences between bureaus. Checked on the held-out split, not on eval sets.
PRIOR_STRENGTH = 40.0
# Below this many routed held-out texts a precision is noise, not a measurement.
MIN_ROUTED = 10
# A bureau needs this many held-out predictions for a threshold of its own.
MIN_CLASS_SUPPORT = 10
# The precision that must reach the target is the Wilson lower bound at this many standard
# errors, not the measured share: picking the deepest point that passes favours points that
# passed by luck. 5-fold cross-validation of the whole training procedure, target 0.95
# (routed share / precision of routed, en and zh): z = 0 gave 0.22 / 0.915 and 0.72 / 0.951;
# z = 1 gave 0.07 / 0.972 and 0.44 / 0.978; z = 0.5 gave 0.13 / 0.948 and 0.59 / 0.969.
CONFIDENCE_Z = 0.5


def wilson_lower_bound(precision: np.ndarray, n: np.ndarray, z: float = CONFIDENCE_Z) -> np.ndarray:
    n = np.maximum(np.asarray(n, float), 1.0)
    centre = precision + z * z / (2 * n)
    spread = z * np.sqrt(np.clip(precision * (1 - precision), 0, None) / n + z * z / (4 * n * n))
    bound: np.ndarray = (centre - spread) / (1 + z * z / n)
    return bound


def _deepest_passing(
    precision: np.ndarray, evidence: np.ndarray, routed: np.ndarray, confidence: np.ndarray, target: float
) -> float:
    """The confidence at the deepest point whose precision (lower bound) still reaches the target."""
    ok = np.nonzero((wilson_lower_bound(precision, evidence) >= target) & (routed >= MIN_ROUTED))[0]
    return round(float(confidence[ok[-1]]), 4) if len(ok) else NEVER


def route_thresholds(
    predicted: np.ndarray,
    confidence: np.ndarray,
    correct: np.ndarray,
    classes: Iterable[str],
    target_precision: float,
) -> dict[str, Any]:
    """{"shared": t, "per_class": {bureau: t}, "support": {bureau: n}} for one language.

    A threshold t is the lowest confidence such that the predictions at or above it still
    reach `target_precision` (the deepest point of the precision-vs-coverage curve where the
    precision's lower confidence bound does).
    """
    order = np.argsort(-confidence, kind="stable")
    confidence, predicted = confidence[order], predicted[order]
    correct = correct[order].astype(float)
    routed = np.arange(1, len(confidence) + 1)
    shared_precision = np.cumsum(correct) / routed if len(routed) else np.array([])
    shared = _deepest_passing(shared_precision, routed, routed, confidence, target_precision)
    per_class: dict[str, float] = {}
    support: dict[str, int] = {}
    for cls in classes:
        is_cls = predicted == cls
        support[str(cls)] = int(is_cls.sum())
        if support[str(cls)] < MIN_CLASS_SUPPORT or shared >= NEVER:
            per_class[str(cls)] = shared
            continue
        n_cls = np.cumsum(is_cls)
        right_cls = np.cumsum(is_cls * correct)
        shrunk = (right_cls + PRIOR_STRENGTH * shared_precision) / (n_cls + PRIOR_STRENGTH)
        # Only the points where this bureau's own prediction sits are thresholds for it.
        at_cls = np.where(is_cls, shrunk, -1.0)
        per_class[str(cls)] = _deepest_passing(
            at_cls,
            n_cls + PRIOR_STRENGTH,
            routed,
            confidence,
            target_precision,
        )
    return {"shared": shared, "per_class": per_class, "support": support}


def coverage_at_precision(confidence: np.ndarray, correct: np.ndarray, target_precision: float) -> float:
    """The largest share of texts that could be routed, most confident first, at the target precision.

    An upper bound that knows the labels: what a perfect single threshold would reach.
    """
    if len(confidence) == 0:
        return 0.0
    order = np.argsort(-confidence, kind="stable")
    precision = np.cumsum(correct[order]) / np.arange(1, len(order) + 1)
    ok = np.nonzero(precision >= target_precision)[0]
    return float((ok[-1] + 1) / len(order)) if len(ok) else 0.0


def precision_coverage_curve(confidence: np.ndarray, correct: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(coverage, precision) when routing the most confident texts first."""
    order = np.argsort(-confidence, kind="stable")
    n = np.arange(1, len(order) + 1)
    return n / max(len(order), 1), np.cumsum(np.asarray(correct, float)[order]) / n
