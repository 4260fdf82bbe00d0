"""Routes a resident's view to a smart area and a bureau. A pure library: no Flask, no database.

examples = load_examples(default_data_paths()) + catalogue_examples(catalogue_dir)
model = train(examples, offtopic=load_offtopic(default_offtopic_paths()))
[p] = model.predict(["The bus arrival times on the app are wrong"], top_k=3, initiatives=["some-slug"])
model.routes(p)  # calibrated bureau_p above its language's threshold, and not off-topic
"""

from typing import Any

from .artifact import (
    ArtifactError,
    ArtifactIntegrityError,
    from_bytes,
    load,
    save,
    sha256_hex,
    to_bytes,
)
from .data import (
    AREAS,
    BUREAUS,
    DataError,
    Example,
    catalogue_examples,
    data_hash,
    default_data_paths,
    default_offtopic_paths,
    load_examples,
    load_offtopic,
    write_examples,
    write_offtopic,
)
from .model import Explanation, Model, Prediction
from .text import language

# Training and evaluation need scikit-learn (about 80 MB); a web or worker process that only
# predicts never imports them, so they are loaded on first use.
_LAZY = {
    "train": "training",
    "choose_thresholds": "evaluation",
    "evaluate": "evaluation",
    "evaluate_held_out": "evaluation",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AREAS",
    "BUREAUS",
    "ArtifactError",
    "ArtifactIntegrityError",
    "DataError",
    "Example",
    "Explanation",
    "Model",
    "Prediction",
    "catalogue_examples",
    "choose_thresholds",
    "data_hash",
    "default_data_paths",
    "default_offtopic_paths",
    "evaluate",
    "evaluate_held_out",
    "from_bytes",
    "language",
    "load",
    "load_examples",
    "load_offtopic",
    "save",
    "sha256_hex",
    "to_bytes",
    "train",
    "write_examples",
    "write_offtopic",
]
