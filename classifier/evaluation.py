"""Cross-validation, held-out evaluation and per-class routing thresholds."""
from __future__ import annotations

from typing import Sequence

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support
from sklearn.model_selection import StratifiedKFold

from .data import Example
from .model import DEFAULT_C, build_estimator, build_features
from .text import has_chinese

TARGETS = ("area", "bureau")
# A class needs this many validation predictions before its threshold is trusted;
# below it the class is never routed unreviewed.
MIN_SUPPORT = 5


def _out_of_fold(examples: Sequence[Example], target: str, folds: int, seed: int, c: float):
    """Probabilities for each example from a model that never saw it."""
    rows = [e for e in examples if getattr(e, target) is not None]
    labels = np.array([getattr(e, target) for e in rows])
    texts = [e.text for e in rows]
    classes = np.array(sorted(set(labels)))
    probabilities = np.zeros((len(rows), len(classes)))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train_idx, test_idx in splitter.split(texts, labels):
        train_texts = [texts[i] for i in train_idx]
        features = build_features(train_texts)
        train_matrix = features.fit_transform(train_texts)
        estimator = build_estimator(c).fit(train_matrix, labels[train_idx])
        fold_p = estimator.predict_proba(features.transform([texts[i] for i in test_idx]))
        columns = np.searchsorted(classes, estimator.classes_)
        probabilities[np.ix_(test_idx, columns)] = fold_p
    return rows, labels, classes, probabilities


def scores(truth: Sequence[str], predicted: Sequence[str]) -> dict:
    labels = sorted(set(truth) | set(predicted))
    precision, recall, f1, support = precision_recall_fscore_support(
        truth, predicted, labels=labels, zero_division=0
    )
    return {
        "n": len(truth),
        "accuracy": round(float(accuracy_score(truth, predicted)), 4),
        "macro_f1": round(float(f1_score(truth, predicted, average="macro", zero_division=0)), 4),
        "per_class": {
            label: {"precision": round(float(p), 4), "recall": round(float(r), 4), "support": int(s)}
            for label, p, r, s in zip(labels, precision, recall, support)
        },
    }


def choose_thresholds(labels, classes, probabilities, target_precision: float) -> dict[str, float]:
    """For each class, the lowest probability above which its predictions reach the target precision.

    Predictions are sorted by confidence; the threshold is the confidence of the last
    prediction in the longest top run whose precision still meets the target. A class
    that never reaches it gets 1.01, i.e. it is always reviewed by a person.
    """
    predicted = classes[np.argmax(probabilities, axis=1)]
    confidence = probabilities.max(axis=1)
    thresholds = {}
    for cls in classes:
        mask = predicted == cls
        order = np.argsort(-confidence[mask], kind="stable")
        conf = confidence[mask][order]
        correct = (labels[mask][order] == cls).astype(float)
        if len(conf) < MIN_SUPPORT:
            thresholds[str(cls)] = 1.01
            continue
        precision = np.cumsum(correct) / np.arange(1, len(conf) + 1)
        ok = np.nonzero(precision[MIN_SUPPORT - 1:] >= target_precision)[0]
        thresholds[str(cls)] = round(float(conf[ok[-1] + MIN_SUPPORT - 1]), 4) if len(ok) else 1.01
    return thresholds


def evaluate(
    examples: Sequence[Example], *, folds: int = 5, seed: int = 0,
    target_precision: float = 0.9, c: float = DEFAULT_C,
) -> dict:
    """Stratified k-fold scores for area and bureau, overall and by language, plus thresholds.

    The returned `thresholds` are chosen on out-of-fold predictions, so they reflect how
    sure the model is on text it has not seen, not on its own training data.
    """
    report: dict = {"folds": folds, "target_precision": target_precision, "thresholds": {}}
    for target in TARGETS:
        rows, labels, classes, probabilities = _out_of_fold(examples, target, folds, seed, c)
        predicted = classes[np.argmax(probabilities, axis=1)]
        result = scores(list(labels), list(predicted))
        chinese = np.array([has_chinese(e.text) for e in rows])
        for name, mask in (("en", ~chinese), ("zh", chinese)):
            if mask.any():
                result[f"accuracy_{name}"] = round(float(accuracy_score(labels[mask], predicted[mask])), 4)
        thresholds = choose_thresholds(labels, classes, probabilities, target_precision)
        routed = probabilities.max(axis=1) >= np.array([thresholds[str(p)] for p in predicted])
        result["auto_routable_share"] = round(float(routed.mean()), 4)
        result["auto_routed_precision"] = (
            round(float((predicted[routed] == labels[routed]).mean()), 4) if routed.any() else None
        )
        report[target] = result
        report["thresholds"][target] = thresholds
    return report


def evaluate_held_out(model, examples: Sequence[Example]) -> dict:
    """Scores of a trained model on labelled text it was not trained on."""
    predictions = model.predict([e.text for e in examples], top_k=3)
    report = {}
    for target in TARGETS:
        pairs = [(getattr(e, target), getattr(p, target)) for e, p in zip(examples, predictions)
                 if getattr(e, target) is not None]
        if pairs:
            truth, predicted = zip(*pairs)
            report[target] = scores(list(truth), list(predicted))
            top3 = [t in [code for code, _ in getattr(p, f"{target}_top")]
                    for e, p in zip(examples, predictions) if (t := getattr(e, target)) is not None]
            report[target]["top3_accuracy"] = round(sum(top3) / len(top3), 4)
    return report
