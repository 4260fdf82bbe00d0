"""Training and prediction: one TF-IDF feature space, one logistic regression per target."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Sequence

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion

from . import text
from .data import Example, data_hash

# Models keep references to the feature functions in `text.py`, not copies of them: bump this
# whenever those functions change, so that older models are refused instead of silently
# receiving features they were not trained on.
FORMAT_VERSION = 2
# Inverse regularisation strength, from a sweep of 1-100 with `python -m classifier evaluate`
# on the shipped corpus: accuracy rises up to about 30 and is flat beyond.
DEFAULT_C = 30.0


@dataclass(frozen=True)
class Prediction:
    area: str
    area_p: float
    bureau: str
    bureau_p: float
    area_top: tuple[tuple[str, float], ...]
    bureau_top: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class Explanation:
    """The terms that pushed a text towards its predicted area and bureau, strongest first."""

    area: str
    area_terms: tuple[tuple[str, float], ...]
    bureau: str
    bureau_terms: tuple[tuple[str, float], ...]


def build_features(texts: Sequence[str]) -> FeatureUnion:
    """A vectoriser per script the training texts use (an empty one would refuse to fit)."""
    parts = []
    if any(text.english_terms(t) for t in texts):
        parts.append(("en", TfidfVectorizer(analyzer=text.english_terms, sublinear_tf=True, dtype=np.float32)))
    if any(text.has_chinese(t) for t in texts):
        parts.append(("zh", TfidfVectorizer(analyzer=text.chinese_terms, sublinear_tf=True, dtype=np.float32)))
    if not parts:
        raise ValueError("the training texts contain no English words and no Chinese characters")
    return FeatureUnion(parts)


def build_estimator(c: float = DEFAULT_C) -> LogisticRegression:
    return LogisticRegression(C=c, max_iter=3000, class_weight="balanced")


@dataclass
class Model:
    features: FeatureUnion
    area_model: LogisticRegression
    bureau_model: LogisticRegression
    metadata: dict = field(default_factory=dict)

    def _probabilities(self, texts: Sequence[str]):
        matrix = self.features.transform(list(texts))
        return matrix, self.area_model.predict_proba(matrix), self.bureau_model.predict_proba(matrix)

    def predict(self, texts: Sequence[str], top_k: int = 3) -> list[Prediction]:
        _, area_p, bureau_p = self._probabilities(texts)
        area_top = _top(self.area_model.classes_, area_p, top_k)
        bureau_top = _top(self.bureau_model.classes_, bureau_p, top_k)
        return [
            Prediction(area=a[0][0], area_p=a[0][1], bureau=b[0][0], bureau_p=b[0][1], area_top=a, bureau_top=b)
            for a, b in zip(area_top, bureau_top)
        ]

    def explain(self, text_: str, top_n: int = 8) -> Explanation:
        matrix, area_p, bureau_p = self._probabilities([text_])
        names = self.features.get_feature_names_out()
        area, area_terms = _contributions(self.area_model, matrix, area_p[0], names, top_n)
        bureau, bureau_terms = _contributions(self.bureau_model, matrix, bureau_p[0], names, top_n)
        return Explanation(area=area, area_terms=area_terms, bureau=bureau, bureau_terms=bureau_terms)

    def threshold(self, target: str, code: str) -> float | None:
        """The probability this class must reach to be routed unreviewed, if validation chose one."""
        value = self.metadata.get("thresholds", {}).get(target, {}).get(code)
        return None if value is None else float(value)


def _top(classes, probabilities, k: int) -> list[tuple[tuple[str, float], ...]]:
    k = max(1, min(k, len(classes)))
    order = np.argsort(-probabilities, axis=1, kind="stable")[:, :k]
    return [tuple((str(classes[j]), float(row[j])) for j in idx) for row, idx in zip(probabilities, order)]


def _contributions(estimator, matrix, probabilities, names, top_n):
    best = int(np.argmax(probabilities))
    row = matrix.tocsr()[0]
    weights = estimator.coef_[best, row.indices] * row.data
    order = np.argsort(-weights)[:top_n]
    terms = tuple(
        (names[row.indices[i]].split("__", 1)[1], float(weights[i])) for i in order if weights[i] > 0
    )
    return str(estimator.classes_[best]), terms


def fit_estimators(examples: Sequence[Example], c: float = DEFAULT_C):
    """Fit the shared features on every text, then each target on the examples that carry it."""
    texts = [e.text for e in examples]
    features = build_features(texts)
    matrix = features.fit_transform(texts)
    fitted = []
    for target in ("area", "bureau"):
        rows = [i for i, e in enumerate(examples) if getattr(e, target) is not None]
        labels = [getattr(examples[i], target) for i in rows]
        fitted.append(build_estimator(c).fit(matrix[rows], labels))
    return features, fitted[0], fitted[1]


def train(examples: Sequence[Example], *, thresholds: dict | None = None, c: float = DEFAULT_C) -> Model:
    """Train on every example. `thresholds` (from `evaluate`) travel with the model."""
    examples = list(examples)
    if not examples:
        raise ValueError("no training examples")
    features, area_model, bureau_model = fit_estimators(examples, c)
    metadata = {
        "format_version": FORMAT_VERSION,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "training_data_hash": data_hash(examples),
        "examples": len(examples),
        "areas": [str(c_) for c_ in area_model.classes_],
        "bureaus": [str(c_) for c_ in bureau_model.classes_],
        "features": int(len(features.get_feature_names_out())),
        "c": c,
    }
    if thresholds:
        metadata["thresholds"] = thresholds
    return Model(features, area_model, bureau_model, metadata)
