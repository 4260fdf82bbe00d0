"""Cross-validation of the whole training procedure, held-out scoring, and the numbers behind the report.

Every fold runs `train` on the rest, held-out split, calibration and thresholds included, so
routed share and precision are measured as the platform would see them on text it never saw.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support
from sklearn.model_selection import StratifiedKFold

from .calibration import expected_calibration_error, reliability, softmax
from .data import BUREAUS, CATALOGUE, Example
from .model import DEFAULT_C, Model, transform
from .text import LANGUAGES
from .thresholds import coverage_at_precision
from .training import DEFAULT_TARGET_PRECISION, train

TARGETS = ("area", "bureau")
# A class needs this many validation predictions before its (area) threshold is trusted;
# below it the class is never routed unreviewed.
MIN_SUPPORT = 5


@dataclass
class Outcome:
    """A model's answers on labelled texts, kept whole so any metric or figure can be drawn."""

    labels: np.ndarray  # true bureau per text ("" where the text has none)
    classes: np.ndarray  # bureau columns of `raw` and `calibrated`
    raw: np.ndarray
    calibrated: np.ndarray
    langs: np.ndarray
    off_topic_p: np.ndarray
    flagged: np.ndarray  # off_topic_p at or above the model's cutoff
    routed: np.ndarray
    area_labels: np.ndarray  # "" where the text has no area
    registers: np.ndarray  # how each text is written ("" where its file does not say)
    area_classes: np.ndarray
    area_p: np.ndarray
    off_topic_texts_flagged: np.ndarray  # the same for texts no bureau owns, if any were scored

    @staticmethod
    def concatenate(parts: Sequence[Outcome]) -> Outcome:
        fields = Outcome.__dataclass_fields__
        return Outcome(
            **{
                name: parts[0].classes
                if name == "classes"
                else parts[0].area_classes
                if name == "area_classes"
                else np.concatenate([getattr(p, name) for p in parts])
                for name in fields
            }
        )


def _aligned(
    probabilities: np.ndarray,
    have: Sequence[str] | np.ndarray,
    want: Sequence[str] | np.ndarray,
) -> np.ndarray:
    out = np.zeros((len(probabilities), len(want)))
    index = {str(c): j for j, c in enumerate(want)}
    for j, c in enumerate(have):
        out[:, index[str(c)]] = probabilities[:, j]
    return out


def outcome(
    model: Model,
    examples: Sequence[Example],
    offtopic: Sequence[str] = (),
    classes: Sequence[str] | None = None,
    area_classes: Sequence[str] | None = None,
) -> Outcome:
    """Score `model` on labelled `examples` (with their initiative as context) and on off-topic texts."""
    texts = [e.text for e in examples]
    columns = np.array(classes if classes is not None else model.bureaus)
    area_columns = np.array(area_classes if area_classes is not None else [str(c) for c in model.area_head.classes])
    scores = model.score(texts, [e.initiative for e in examples])
    predictions = model.predict(texts, top_k=1, initiatives=[e.initiative for e in examples])
    area_p: np.ndarray = (
        softmax(model.area_head.logits(transform(model.features, texts))) if texts else np.zeros((0, 0))
    )
    return Outcome(
        labels=np.array([e.bureau or "" for e in examples], dtype=object),
        classes=columns,
        raw=_aligned(scores.raw, scores.classes, columns),
        calibrated=_aligned(scores.calibrated, scores.classes, columns),
        langs=np.array(scores.langs, dtype=object),
        off_topic_p=np.asarray(scores.off_topic_p, float),
        flagged=np.asarray(scores.off_topic_p, float) >= model.off_topic_cutoff,
        routed=np.array([model.routes(p) for p in predictions], dtype=bool),
        area_labels=np.array([e.area or "" for e in examples], dtype=object),
        registers=np.array([e.register or "" for e in examples], dtype=object),
        area_classes=area_columns,
        area_p=_aligned(area_p, model.area_head.classes, area_columns) if texts else np.zeros((0, len(area_columns))),
        off_topic_texts_flagged=(
            model.score(list(offtopic)).off_topic_p >= model.off_topic_cutoff if offtopic else np.zeros(0, bool)
        ),
    )


def cross_validate(
    examples: Sequence[Example],
    *,
    offtopic: Sequence[str] = (),
    folds: int = 5,
    seed: int = 0,
    target_precision: float = DEFAULT_TARGET_PRECISION,
    c: float = DEFAULT_C,
) -> Outcome:
    """Out-of-fold outcomes for every corpus text with a bureau, each from a model that never saw it.

    Catalogue descriptions and texts without a bureau are always in the training part.
    """
    examples, offtopic = list(examples), list(offtopic)
    scored = [i for i, e in enumerate(examples) if e.bureau is not None and e.register != CATALOGUE]
    always = [i for i in range(len(examples)) if i not in set(scored)]
    labels = [examples[i].bureau for i in scored]
    classes = [b for b in BUREAUS if b in set(e.bureau for e in examples)]
    areas = sorted({e.area for e in examples if e.area})
    offtopic_fold = np.random.default_rng(seed).integers(0, folds, len(offtopic))
    parts = []
    for fold, (train_pos, test_pos) in enumerate(
        StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(scored, labels)
    ):
        training = [examples[i] for i in always] + [examples[scored[p]] for p in train_pos]
        model = train(
            training,
            offtopic=[t for t, f in zip(offtopic, offtopic_fold, strict=True) if f != fold],
            c=c,
            target_precision=target_precision,
        )
        parts.append(
            outcome(
                model,
                [examples[scored[p]] for p in test_pos],
                [t for t, f in zip(offtopic, offtopic_fold, strict=True) if f == fold],
                classes,
                areas,
            )
        )
    return Outcome.concatenate(parts)


def scores(truth: Sequence[str], predicted: Sequence[str]) -> dict[str, Any]:
    labels = sorted(set(truth) | set(predicted))
    precision, recall, _f1, support = precision_recall_fscore_support(truth, predicted, labels=labels, zero_division=0)
    return {
        "n": len(truth),
        "accuracy": round(float(accuracy_score(truth, predicted)), 4),
        "macro_f1": round(float(f1_score(truth, predicted, average="macro", zero_division=0)), 4),
        "per_class": {
            label: {"precision": round(float(p), 4), "recall": round(float(r), 4), "support": int(s)}
            for label, p, r, s in zip(labels, precision, recall, support, strict=True)
        },
    }


def bureau_summary(result: Outcome, mask: np.ndarray, target_precision: float) -> dict[str, Any]:
    """Accuracy, top-3, calibration and routing figures for the texts in `mask` that have a bureau."""
    mask = mask & (result.labels != "")
    if not mask.any():
        return {"n": 0}
    labels = result.labels[mask].astype(str)
    calibrated, raw = result.calibrated[mask], result.raw[mask]
    predicted = result.classes[calibrated.argmax(axis=1)]
    correct = predicted == labels
    top3 = np.argsort(-calibrated, axis=1)[:, :3]
    routed = result.routed[mask]
    summary = scores(list(labels), list(predicted))
    summary.update(
        {
            "top3_accuracy": round(
                float(np.mean([lab in result.classes[row] for lab, row in zip(labels, top3, strict=True)])), 4
            ),
            "ece_raw": round(
                expected_calibration_error(raw.max(axis=1), result.classes[raw.argmax(axis=1)] == labels), 4
            ),
            "ece_calibrated": round(expected_calibration_error(calibrated.max(axis=1), correct), 4),
            "routed_share": round(float(routed.mean()), 4),
            "routed_precision": round(float(correct[routed].mean()), 4) if routed.any() else None,
            "best_share_at_target": round(coverage_at_precision(calibrated.max(axis=1), correct, target_precision), 4),
            "flagged_off_topic_share": round(float(result.flagged[mask].mean()), 4),
            "confusion": confusion_matrix(labels, predicted, labels=list(result.classes)).tolist(),
            "reliability_raw": reliability(raw.max(axis=1), result.classes[raw.argmax(axis=1)] == labels),
            "reliability_calibrated": reliability(calibrated.max(axis=1), correct),
        }
    )
    return summary


def summarise(result: Outcome, target_precision: float) -> dict[str, Any]:
    """Per language (and over all texts): the bureau summary, area accuracy, off-topic recall."""
    report: dict[str, Any] = {}
    for lang in (*LANGUAGES, "all"):
        mask = np.ones(len(result.labels), bool) if lang == "all" else result.langs == lang
        entry: dict[str, Any] = {"bureau": bureau_summary(result, mask, target_precision)}
        has_area = mask & (result.area_labels != "")
        if has_area.any():
            area_predicted = result.area_classes[result.area_p[has_area].argmax(axis=1)]
            entry["area_accuracy"] = round(float((area_predicted == result.area_labels[has_area]).mean()), 4)
        report[lang] = entry
    labelled = result.labels != ""
    correct = result.classes[result.calibrated.argmax(axis=1)] == result.labels
    report["by_register"] = {
        register or "unmarked": {"n": int(mask.sum()), "accuracy": round(float(correct[mask].mean()), 4)}
        for register in sorted(set(result.registers[labelled]))
        if (mask := labelled & (result.registers == register)).any()
    }
    if len(result.off_topic_texts_flagged):
        report["off_topic"] = {
            "texts": int(len(result.off_topic_texts_flagged)),
            "flagged_share": round(float(result.off_topic_texts_flagged.mean()), 4),
        }
    return report


def choose_thresholds(
    labels: np.ndarray, classes: np.ndarray, probabilities: np.ndarray, target_precision: float
) -> dict[str, float]:
    """For each class, the lowest probability above which its predictions reach the target precision.

    Predictions are sorted by confidence; the threshold is the confidence of the last
    prediction in the longest top run whose precision still meets the target. A class
    that never reaches it gets 1.01, i.e. it is always reviewed by a person. Used for the
    smart area; bureaus use `thresholds.route_thresholds`, which shrinks toward a shared value.
    """
    predicted = classes[np.argmax(probabilities, axis=1)]
    confidence = probabilities.max(axis=1)
    thresholds: dict[str, float] = {}
    for cls in classes:
        mask = predicted == cls
        order = np.argsort(-confidence[mask], kind="stable")
        conf = confidence[mask][order]
        correct = (labels[mask][order] == cls).astype(float)
        if len(conf) < MIN_SUPPORT:
            thresholds[str(cls)] = 1.01
            continue
        precision = np.cumsum(correct) / np.arange(1, len(conf) + 1)
        ok = np.nonzero(precision[MIN_SUPPORT - 1 :] >= target_precision)[0]
        thresholds[str(cls)] = round(float(conf[ok[-1] + MIN_SUPPORT - 1]), 4) if len(ok) else 1.01
    return thresholds


def _legacy_shape(summary: dict[str, Any]) -> dict[str, Any]:
    """The keys callers of the first version read: accuracy, macro-F1, per language, routing."""
    bureau = {k: v for k, v in summary["all"]["bureau"].items() if not k.startswith(("confusion", "reliability"))}
    for lang in LANGUAGES:
        if summary[lang]["bureau"].get("n"):
            bureau[f"accuracy_{lang}"] = summary[lang]["bureau"]["accuracy"]
    bureau["auto_routable_share"] = bureau.get("routed_share")
    bureau["auto_routed_precision"] = bureau.get("routed_precision")
    return bureau


def evaluate(
    examples: Sequence[Example],
    *,
    folds: int = 5,
    seed: int = 0,
    target_precision: float = DEFAULT_TARGET_PRECISION,
    c: float = DEFAULT_C,
    offtopic: Sequence[str] = (),
) -> dict[str, Any]:
    """Cross-validated scores of the whole training procedure, overall and per language.

    `thresholds["area"]` are chosen on out-of-fold area probabilities, for callers that still
    gate on the predicted area; bureau thresholds are chosen inside `train` itself.
    """
    result = cross_validate(examples, offtopic=offtopic, folds=folds, seed=seed, target_precision=target_precision, c=c)
    summary = summarise(result, target_precision)
    has_area = result.area_labels != ""
    area_predicted = result.area_classes[result.area_p[has_area].argmax(axis=1)]
    area = scores(list(result.area_labels[has_area]), list(area_predicted))
    return {
        "folds": folds,
        "target_precision": target_precision,
        "bureau": _legacy_shape(summary),
        "area": area,
        "by_language": summary,
        "thresholds": {
            "area": choose_thresholds(
                result.area_labels[has_area],
                result.area_classes,
                result.area_p[has_area],
                target_precision,
            )
        },
    }


def evaluate_held_out(
    model: Model,
    examples: Sequence[Example],
    target_precision: float = DEFAULT_TARGET_PRECISION,
) -> dict[str, Any]:
    """Scores of a trained model on labelled text it was not trained on."""
    result = outcome(model, examples)
    summary = summarise(result, target_precision)
    report: dict[str, Any] = {"by_language": summary}
    if (result.labels != "").any():
        report["bureau"] = _legacy_shape(summary)
        report["bureau"]["top3_accuracy"] = summary["all"]["bureau"]["top3_accuracy"]
    has_area = result.area_labels != ""
    if has_area.any():
        predicted = result.area_classes[result.area_p[has_area].argmax(axis=1)]
        report["area"] = scores(list(result.area_labels[has_area]), list(predicted))
        top3 = np.argsort(-result.area_p[has_area], axis=1)[:, :3]
        report["area"]["top3_accuracy"] = round(
            float(
                np.mean(
                    [
                        lab in result.area_classes[row]
                        for lab, row in zip(result.area_labels[has_area], top3, strict=True)
                    ]
                )
            ),
            4,
        )
    return report
