"""Making bureau probabilities mean what they say, and measuring whether they do.

Temperature scaling (one number per language) divides the bureau logits before the softmax: it
changes how sure the model is, never which bureau comes first, and one parameter cannot over-fit
a few hundred held-out texts. The initiative prior is a second learned number: log-odds added
to the initiative's lead bureau, fitted the same way on held-out texts that name an initiative.
"""

from __future__ import annotations

from typing import TypedDict

import numpy as np

# Temperatures outside this range mean the held-out data is degenerate, not that the model is.
LOG_TEMPERATURE_BOUNDS = (np.log(0.05), np.log(20.0))
# Allowing a negative weight would let a few odd rows teach "never the lead bureau".
PRIOR_WEIGHT_BOUNDS = (0.0, 8.0)
ECE_BINS = 15


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    probabilities: np.ndarray = exp / exp.sum(axis=1, keepdims=True)
    return probabilities


def _negative_log_likelihood(logits: np.ndarray, truth: np.ndarray) -> float:
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(shifted).sum(axis=1))
    return float((log_norm - shifted[np.arange(len(truth)), truth]).mean())


def fit_temperature(logits: np.ndarray, truth: np.ndarray) -> float:
    """The T that makes softmax(logits / T) most likely on these labelled rows.

    `truth` holds column indices into `logits`.
    """
    from scipy.optimize import minimize_scalar  # training only: prediction never loads scipy.optimize

    result = minimize_scalar(
        lambda log_t: _negative_log_likelihood(logits / np.exp(log_t), truth),
        bounds=LOG_TEMPERATURE_BOUNDS,
        method="bounded",
    )
    return float(np.exp(result.x))


def prior_matrix(shape: tuple[int, int], lead_columns: np.ndarray) -> np.ndarray:
    """One-hot rows marking each text's lead-bureau column; rows with no lead (-1) stay zero."""
    prior = np.zeros(shape)
    rows = np.nonzero(lead_columns >= 0)[0]
    prior[rows, lead_columns[rows]] = 1.0
    return prior


def fit_prior_weight(scaled_logits: np.ndarray, truth: np.ndarray, lead_columns: np.ndarray) -> float:
    """The log-odds bonus for the lead bureau that best explains these rows' labels.

    Fitted on texts whose label is sometimes NOT the lead bureau, so the weight stays small
    enough for a text clearly about another bureau to win.
    """
    from scipy.optimize import minimize_scalar

    prior = prior_matrix(scaled_logits.shape, lead_columns)
    result = minimize_scalar(
        lambda w: _negative_log_likelihood(scaled_logits + w * prior, truth),
        bounds=PRIOR_WEIGHT_BOUNDS,
        method="bounded",
    )
    return float(result.x)


class Bin(TypedDict):
    low: float
    high: float
    n: int
    confidence: float | None  # None: no text in the bin
    accuracy: float | None


def reliability(confidence: np.ndarray, correct: np.ndarray, bins: int = ECE_BINS) -> list[Bin]:
    """Per equal-width confidence bin: how many texts, their mean confidence, their accuracy."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    table: list[Bin] = []
    for b in range(bins):
        mask = index == b
        table.append(
            {
                "low": float(edges[b]),
                "high": float(edges[b + 1]),
                "n": int(mask.sum()),
                "confidence": float(confidence[mask].mean()) if mask.any() else None,
                "accuracy": float(correct[mask].mean()) if mask.any() else None,
            }
        )
    return table


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, bins: int = ECE_BINS) -> float:
    """Mean |accuracy − confidence| over confidence bins, weighted by how many texts fall in each."""
    confidence, correct = np.asarray(confidence, float), np.asarray(correct, float)
    if len(confidence) == 0:
        return float("nan")
    total = 0.0
    for row in reliability(confidence, correct, bins):
        if row["n"] and row["accuracy"] is not None and row["confidence"] is not None:  # n > 0: both are
            total += row["n"] * abs(row["accuracy"] - row["confidence"])
    return total / len(confidence)
