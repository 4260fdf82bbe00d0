"""Model files: plain arrays and JSON in a NumPy `.npz`, checked against a SHA-256 before use.

Nothing in a model file is code: arrays are read with `allow_pickle=False`, and the feature
functions are named (see model.ANALYZERS), never stored. So loading a file can neither run
anything nor need scikit-learn.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import zipfile
from pathlib import Path

import numpy as np

from .model import FORMAT_VERSION, Features, LinearHead, Model, Vectorizer
from .semantic import SemanticBureauModel, SemanticModelError

HEADS = ("area", "bureau", "off_topic")


class ArtifactError(ValueError):
    """A model file that cannot be used: corrupt, tampered with, or of an older format."""


class ArtifactIntegrityError(ArtifactError):
    pass


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def to_bytes(model: Model) -> bytes:
    arrays = {}
    for name in HEADS:
        part = getattr(model, f"{name}_head")
        if part is not None:
            arrays[f"{name}_coef"], arrays[f"{name}_intercept"] = part.coef, part.intercept
    for v in model.features.vectorizers:
        arrays[f"idf_{v.name}"] = v.idf
    if model.bureau_nb is not None:
        arrays["bureau_nb"] = model.bureau_nb
    document = {
        "metadata": model.metadata,
        "classes": {
            name: [str(c) for c in getattr(model, f"{name}_head").classes]
            for name in HEADS
            if getattr(model, f"{name}_head") is not None
        },
        "vectorizers": [{"name": v.name, "vocabulary": v.vocabulary} for v in model.features.vectorizers],
        "semantic": model.semantic.to_dict() if model.semantic is not None else None,
    }
    arrays["document"] = np.frombuffer(json.dumps(document, ensure_ascii=False, sort_keys=True).encode(), np.uint8)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def _read(data: bytes) -> Model:
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise ArtifactError("model artifact cannot be read: not a model file")
    with np.load(io.BytesIO(data), allow_pickle=False) as stored:
        if "document" not in stored.files:
            # Versions before format 4 were skops files (scikit-learn objects).
            raise ArtifactError(
                f"model was stored in an older format; this code uses {FORMAT_VERSION}: train a new version"
            )
        document = json.loads(bytes(stored["document"]).decode("utf-8"))
        metadata = document["metadata"]
        if metadata.get("format_version") != FORMAT_VERSION:
            raise ArtifactError(
                f"model was trained with feature format {metadata.get('format_version')}, this code uses "
                f"{FORMAT_VERSION}: train a new version"
            )
        heads = {
            name: LinearHead(document["classes"][name], stored[f"{name}_coef"], stored[f"{name}_intercept"])
            for name in HEADS
            if name in document["classes"]
        }
        features = Features(
            [Vectorizer(v["name"], v["vocabulary"], stored[f"idf_{v['name']}"]) for v in document["vectorizers"]]
        )
        bureau_nb = stored["bureau_nb"] if "bureau_nb" in stored.files else None
    semantic = SemanticBureauModel.from_dict(document["semantic"]) if document.get("semantic") else None
    return Model(features, heads["area"], heads["bureau"], metadata, heads.get("off_topic"), bureau_nb, semantic)


def from_bytes(data: bytes, *, sha256: str) -> Model:
    """Load a model, but only if its bytes hash to `sha256`."""
    if not hmac.compare_digest(sha256_hex(data), sha256.lower()):
        raise ArtifactIntegrityError("model artifact does not match its recorded SHA-256")
    try:
        return _read(data)
    except ArtifactError:
        raise
    except SemanticModelError as exc:
        raise ArtifactError(f"model artifact holds a malformed semantic model: {exc}") from exc
    except Exception as exc:  # a damaged file fails in many ways (zip, JSON, shapes, keys)
        raise ArtifactError(f"model artifact cannot be read: {exc!r}") from exc


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
