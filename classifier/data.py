"""Labelled examples, off-topic texts, the catalogue's initiative leads, and their fingerprint."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

AREAS = ("mobility", "living", "environment", "people", "government", "economy", "covid")
BUREAUS = (
    "CSB",
    "CMAB",
    "CSTB",
    "CEDB",
    "DEVB",
    "EDB",
    "EEB",
    "FSTB",
    "HHB",
    "HB",
    "HYAB",
    "ITIB",
    "LWB",
    "SB",
    "TLB",
)
DATA_DIR = Path(__file__).resolve().parent / "data"
# The register of examples made from the reference data: official descriptions, never held out.
CATALOGUE = "catalogue"


class DataError(ValueError):
    """A training file is unreadable or a line in it is malformed."""


@dataclass(frozen=True)
class Example:
    """One labelled text. Either label may be missing: a bureau's remit says nothing of an area.

    `initiative` is the catalogue initiative the text was written about, if any (context the
    resident gives, not a label); `register` says how it is written (formal, colloquial,
    cantonese, mixed), so realistic lines can be preferred when holding data out.
    """

    text: str
    area: str | None = None
    bureau: str | None = None
    initiative: str | None = None
    register: str | None = None


def default_data_paths() -> list[Path]:
    return sorted(DATA_DIR.glob("corpus_*.jsonl"))


def default_offtopic_paths() -> list[Path]:
    """Texts no bureau owns (chit-chat, spam, tests, views on TV dramas): the "not owned" class."""
    return sorted(DATA_DIR.glob("offtopic_*.jsonl"))


def _check_labels(area: str | None, bureau: str | None, where: str) -> None:
    if area is not None and area not in AREAS:
        raise DataError(f"{where}: unknown area {area!r}")
    if bureau is not None and bureau not in BUREAUS:
        raise DataError(f"{where}: unknown bureau {bureau!r}")
    if area is None and bureau is None:
        raise DataError(f"{where}: needs an area, a bureau or both")


def _rows(paths: Iterable[Path]) -> Iterator[tuple[str, dict[str, Any], str]]:
    """(place, object, text) for each non-blank line; the first malformed line stops the read."""
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
                if not isinstance(row, dict):
                    raise DataError(f"{where}: expected a JSON object")
                text = str(row.get("text") or "").strip()
                if not text:
                    raise DataError(f"{where}: empty text")
                yield where, row, text


def _optional_string(row: dict[str, Any], key: str, where: str) -> str | None:
    value = row.get(key)
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise DataError(f"{where}: {key!r} must be a non-empty string")
    return value


def load_examples(paths: Iterable[Path]) -> list[Example]:
    """Read JSON-lines files of {"text", "area", "bureau"[, "initiative", "register"]} objects."""
    examples = []
    for where, row, text in _rows(paths):
        area, bureau = row.get("area"), row.get("bureau")
        _check_labels(area, bureau, where)
        examples.append(
            Example(
                text=text,
                area=area,
                bureau=bureau,
                initiative=_optional_string(row, "initiative", where),
                register=_optional_string(row, "register", where),
            )
        )
    return examples


def load_offtopic(paths: Iterable[Path]) -> list[str]:
    """The texts of off-topic files ({"text", "lang", "kind"}); they carry no labels."""
    return [text for _, _, text in _rows(paths)]


def catalogue_examples(directory: Path) -> list[Example]:
    """Turn the reference data into examples: initiatives (area and bureau), remits, areas.

    The catalogue is the Government's own description of who does what, so it teaches
    vocabulary the hand-written corpus may miss.
    """

    def read(name: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = json.loads((Path(directory) / name).read_text(encoding="utf-8"))
        return rows

    examples = []
    for row in read("initiatives.json"):
        for lang in ("en", "zh"):
            text = f"{row[f'title_{lang}']}. {row[f'summary_{lang}']}"
            # The initiative's own description names its lead bureau: training reads the
            # slug → lead-bureau map from these examples.
            examples.append(
                Example(
                    text=text,
                    area=row["area"],
                    bureau=row["lead_bureau"],
                    initiative=row["code"],
                    register=CATALOGUE,
                )
            )
    for row in read("bureaus.json"):
        for lang in ("en", "zh"):
            examples.append(Example(text=row[f"remit_{lang}"], bureau=row["code"], register=CATALOGUE))
    for row in read("areas.json"):
        for lang in ("en", "zh"):
            examples.append(Example(text=row[f"description_{lang}"], area=row["code"], register=CATALOGUE))
    return examples


def initiative_leads(examples: Iterable[Example]) -> dict[str, str]:
    """Initiative slug → lead bureau, from the catalogue's own initiative examples."""
    return {
        e.initiative: e.bureau for e in examples if e.register == CATALOGUE and e.initiative and e.bureau is not None
    }


def write_examples(examples: Iterable[Example], path: Path) -> None:
    """The examples as a file `load_examples` reads back equal (e.g. for a training process)."""
    with open(path, "w", encoding="utf-8") as handle:
        for e in examples:
            row = {
                "text": e.text,
                "area": e.area,
                "bureau": e.bureau,
                "initiative": e.initiative,
                "register": e.register,
            }
            handle.write(json.dumps({k: v for k, v in row.items() if v is not None}, ensure_ascii=False) + "\n")


def write_offtopic(texts: Iterable[str], path: Path) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        for text in texts:
            handle.write(json.dumps({"text": text}, ensure_ascii=False) + "\n")


def data_hash(examples: Iterable[Example], offtopic: Iterable[str] = ()) -> str:
    """SHA-256 over the examples in order: two models with the same hash saw the same data."""
    digest = hashlib.sha256()
    for example in examples:
        fields = [example.text, example.area, example.bureau]
        if example.initiative:  # so that older data keeps the hash it had
            fields.append(example.initiative)
        digest.update(json.dumps(fields, ensure_ascii=False).encode("utf-8"))
        digest.update(b"\n")
    for text_ in offtopic:
        digest.update(json.dumps(["off-topic", text_], ensure_ascii=False).encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()
