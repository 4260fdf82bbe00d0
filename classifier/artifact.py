"""Model files: skops serialisation, checked against a SHA-256 before anything is loaded."""
from __future__ import annotations

import copy
import hashlib
import hmac
import json
import zipfile
from pathlib import Path

import skops.io as sio

from .model import FORMAT_VERSION, Model
from .semantic import SemanticBureauModel, SemanticModelError

# Everything a model file may contain beyond what skops trusts by default. A file asking for
# any other type is refused rather than loaded.
TRUSTED_TYPES = frozenset({
    "classifier.text.chinese_terms",
    "classifier.text.english_terms",
    "numpy.float32",
    "sklearn.feature_extraction.text.TfidfTransformer",
    "sklearn.feature_extraction.text.TfidfVectorizer",
    "sklearn.linear_model._logistic.LogisticRegression",
    "sklearn.naive_bayes.ComplementNB",
    "sklearn.pipeline.FeatureUnion",
})


class ArtifactError(ValueError):
    """A model file that cannot be used: corrupt, tampered with, or of unknown types."""


class ArtifactIntegrityError(ArtifactError):
    pass


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _without_vocabularies(features):
    """A shallow copy of the features with each vocabulary taken out, and the vocabularies as JSON.

    skops writes a dict entry by entry: tens of thousands of terms made the file ten times
    larger and as many times slower to load than one JSON string per vocabulary.
    """
    stripped, vocabularies = copy.copy(features), {}
    parts = []
    for name, vectorizer in features.transformer_list:
        vectorizer = copy.copy(vectorizer)
        vocabularies[name] = json.dumps(vectorizer.__dict__.pop("vocabulary_"), ensure_ascii=False)
        parts.append((name, vectorizer))
    stripped.transformer_list = parts
    return stripped, vocabularies


def to_bytes(model: Model) -> bytes:
    features, vocabularies = _without_vocabularies(model.features)
    return sio.dumps({
        "features": features,
        "vocabularies": vocabularies,
        "area": model.area_model,
        "bureau": model.bureau_model,
        "off_topic": model.off_topic_model,
        "bureau_nb": model.bureau_nb,
        # Plain numbers as JSON: no type for skops to trust.
        "semantic": json.dumps(model.semantic.to_dict()) if model.semantic is not None else None,
        "metadata": json.dumps(model.metadata, sort_keys=True),
    }, compression=zipfile.ZIP_DEFLATED)


def from_bytes(data: bytes, *, sha256: str) -> Model:
    """Load a model, but only if its bytes hash to `sha256` and it holds only trusted types."""
    if not hmac.compare_digest(sha256_hex(data), sha256.lower()):
        raise ArtifactIntegrityError("model artifact does not match its recorded SHA-256")
    try:
        untrusted = set(sio.get_untrusted_types(data=data))
        unexpected = untrusted - TRUSTED_TYPES
        if unexpected:
            raise ArtifactError(f"model artifact holds unexpected types: {sorted(unexpected)}")
        content = sio.loads(data, trusted=sorted(untrusted))
        metadata = json.loads(content["metadata"])
        if metadata.get("format_version") != FORMAT_VERSION:
            raise ArtifactError(
                f"model was trained with feature format {metadata.get('format_version')}, this code uses "
                f"{FORMAT_VERSION}: train a new version"
            )
        features = content["features"]
        for name, vectorizer in features.transformer_list:
            vectorizer.vocabulary_ = json.loads(content["vocabularies"][name])
        semantic = content.get("semantic")
        return Model(
            features, content["area"], content["bureau"], metadata, content.get("off_topic"), content.get("bureau_nb"),
            SemanticBureauModel.from_dict(json.loads(semantic)) if semantic else None,
        )
    except ArtifactError:
        raise
    except SemanticModelError as exc:
        raise ArtifactError(f"model artifact holds a malformed semantic model: {exc}") from exc
    except Exception as exc:  # skops raises many kinds of error for a damaged file
        raise ArtifactError(f"model artifact cannot be read: {exc}") from exc


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def save(model: Model, path: str | Path) -> str:
    """Write the model and, beside it, `<file>.json` with its SHA-256 and metadata."""
    path = Path(path)
    data = to_bytes(model)
    digest = sha256_hex(data)
    path.write_bytes(data)
    _sidecar(path).write_text(
        json.dumps({"sha256": digest, "metadata": model.metadata}, indent=2, ensure_ascii=False), encoding="utf-8"
    )
    return digest


def load(path: str | Path) -> Model:
    path = Path(path)
    try:
        data = path.read_bytes()
        recorded = json.loads(_sidecar(path).read_text(encoding="utf-8"))["sha256"]
    except FileNotFoundError as exc:
        raise ArtifactError(f"{exc.filename}: no such file (a model needs its .json beside it)") from exc
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ArtifactError(f"{_sidecar(path)}: unreadable model metadata ({exc})") from exc
    return from_bytes(data, sha256=recorded)
