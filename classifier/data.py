"""Labelled examples: the shipped corpus, the catalogue, and their fingerprint."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

AREAS = ("mobility", "living", "environment", "people", "government", "economy", "covid")
BUREAUS = (
    "CSB", "CMAB", "CSTB", "CEDB", "DEVB", "EDB", "EEB", "FSTB",
    "HHB", "HB", "HYAB", "ITIB", "LWB", "SB", "TLB",
)
DATA_DIR = Path(__file__).resolve().parent / "data"


class DataError(ValueError):
    """A training file is unreadable or a line in it is malformed."""


@dataclass(frozen=True)
class Example:
    """One labelled text. Either label may be missing: a bureau's remit says nothing of an area."""

    text: str
    area: str | None = None
    bureau: str | None = None


def default_data_paths() -> list[Path]:
    return sorted(DATA_DIR.glob("corpus_*.jsonl"))


def _check_labels(area: str | None, bureau: str | None, where: str) -> None:
    if area is not None and area not in AREAS:
        raise DataError(f"{where}: unknown area {area!r}")
    if bureau is not None and bureau not in BUREAUS:
        raise DataError(f"{where}: unknown bureau {bureau!r}")
    if area is None and bureau is None:
        raise DataError(f"{where}: needs an area, a bureau or both")


def load_examples(paths: Iterable[Path]) -> list[Example]:
    """Read JSON-lines files of {"text", "area", "bureau"} objects, failing on the first bad line."""
    examples = []
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                where = f"{path}:{number}"
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DataError(f"{where}: not JSON ({exc.msg})") from exc
                text = str(row.get("text") or "").strip()
                if not text:
                    raise DataError(f"{where}: empty text")
                area, bureau = row.get("area"), row.get("bureau")
                _check_labels(area, bureau, where)
                examples.append(Example(text=text, area=area, bureau=bureau))
    return examples


def catalogue_examples(directory: Path) -> list[Example]:
    """Turn the reference data into examples: initiatives (area and bureau), remits, areas.

    The catalogue is the Government's own description of who does what, so it teaches
    vocabulary the hand-written corpus may miss.
    """
    def read(name: str) -> list[dict]:
        return json.loads((Path(directory) / name).read_text(encoding="utf-8"))

    examples = []
    for row in read("initiatives.json"):
        for lang in ("en", "zh"):
            text = f"{row[f'title_{lang}']}. {row[f'summary_{lang}']}"
            examples.append(Example(text=text, area=row["area"], bureau=row["lead_bureau"]))
    for row in read("bureaus.json"):
        for lang in ("en", "zh"):
            examples.append(Example(text=row[f"remit_{lang}"], bureau=row["code"]))
    for row in read("areas.json"):
        for lang in ("en", "zh"):
            examples.append(Example(text=row[f"description_{lang}"], area=row["code"]))
    return examples


def data_hash(examples: Iterable[Example]) -> str:
    """SHA-256 over the examples in order: two models with the same hash saw the same data."""
    digest = hashlib.sha256()
    for example in examples:
        record = json.dumps([example.text, example.area, example.bureau], ensure_ascii=False)
        digest.update(record.encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()
