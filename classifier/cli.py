"""`python -m classifier train | predict | evaluate`.

The predict contract is relied on by automated checks: JSON lines in, JSON lines out, one
for one; a bad line is reported on stderr with its number and nothing is written.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TextIO

from .artifact import ArtifactError, load, save
from .data import DataError, Example, catalogue_examples, default_data_paths, load_examples
from .evaluation import evaluate, evaluate_held_out
from .model import train

# The catalogue ships with the app; the CLI reads its data files, nothing more.
DEFAULT_CATALOGUE = Path(__file__).resolve().parent.parent / "feedback_app" / "catalogue" / "data"
BATCH = 512


class InputError(ValueError):
    pass


def _training_examples(args) -> list[Example]:
    examples = load_examples(args.data or default_data_paths())
    if not args.no_catalogue and args.catalogue.is_dir():
        examples += catalogue_examples(args.catalogue)
    if not examples:
        raise DataError("no training data found")
    return examples


def read_texts(stream: TextIO) -> list[str]:
    texts = []
    for number, line in enumerate(stream, start=1):
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"line {number}: not valid JSON ({exc.msg})") from None
        if not isinstance(row, dict) or not isinstance(row.get("text"), str):
            raise InputError(f'line {number}: expected an object with a "text" string, like {{"text": "..."}}')
        if not row["text"].strip():
            raise InputError(f'line {number}: "text" is empty')
        texts.append(row["text"])
    return texts


def _predict(args) -> None:
    texts = read_texts(sys.stdin)
    model = load(args.model)
    out = sys.stdout
    for start in range(0, len(texts), BATCH):
        for p in model.predict(texts[start:start + BATCH], top_k=3):
            out.write(json.dumps({
                "area": p.area, "area_p": round(p.area_p, 6),
                "bureau": p.bureau, "bureau_p": round(p.bureau_p, 6),
                "bureau_top3": [[code, round(prob, 6)] for code, prob in p.bureau_top],
                "area_top3": [[code, round(prob, 6)] for code, prob in p.area_top],
            }) + "\n")


def _train(args) -> None:
    examples = _training_examples(args)
    thresholds = None
    if args.evaluate:
        report = evaluate(examples, target_precision=args.target_precision)
        thresholds = report["thresholds"]
        print(_summary(report), file=sys.stderr)
    model = train(examples, thresholds=thresholds)
    digest = save(model, args.out)
    print(f"wrote {args.out} ({len(examples)} examples, sha256 {digest[:12]}…)", file=sys.stderr)


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
                examples.append(Example(
                    text=row["text"], area=row.get("area", row.get("area_code")),
                    bureau=row.get("bureau_code", row.get("bureau")),
                ))
    return examples


def _summary(report: dict) -> str:
    lines = []
    for target in ("area", "bureau"):
        r = report.get(target)
        if r:
            extra = "".join(f", {k} {r[k]:.3f}" for k in ("accuracy_en", "accuracy_zh", "top3_accuracy") if k in r)
            lines.append(f"{target}: accuracy {r['accuracy']:.3f}, macro-F1 {r['macro_f1']:.3f} (n={r['n']}{extra})")
    return "\n".join(lines)


def _evaluate(args) -> None:
    examples = _training_examples(args)
    report = {"cross_validation": evaluate(examples, folds=args.folds, target_precision=args.target_precision)}
    print(f"{args.folds}-fold cross-validation on {len(examples)} training examples")
    print(_summary(report["cross_validation"]))
    if args.eval:
        model = train(examples)
        for path in args.eval:
            held_out = _held_out(path)
            result = evaluate_held_out(model, held_out)
            report[str(path)] = result
            print(f"held out {path} ({len(held_out)} texts)")
            print(_summary(result))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m classifier", description=__doc__.splitlines()[0])
    commands = root.add_subparsers(dest="command", required=True)

    def data_options(p):
        p.add_argument("--data", type=Path, nargs="+", help="JSON-lines training files (default: the shipped corpus)")
        p.add_argument("--catalogue", type=Path, default=DEFAULT_CATALOGUE, help="reference data folder to learn from")
        p.add_argument("--no-catalogue", action="store_true", help="train on the corpus only")
        p.add_argument("--target-precision", type=float, default=0.9,
                       help="precision per class that routing thresholds aim for")

    p = commands.add_parser("train", help="train a model and write it to a file")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--evaluate", action="store_true", help="cross-validate first and keep the thresholds")
    data_options(p)
    p.set_defaults(run=_train)

    p = commands.add_parser("predict", help="JSON lines {\"text\": ...} on stdin → predictions on stdout")
    p.add_argument("--model", type=Path, required=True)
    p.set_defaults(run=_predict)

    p = commands.add_parser("evaluate", help="cross-validate on the training data; score held-out files")
    p.add_argument("--eval", type=Path, nargs="*", help="held-out JSON-lines files with labels")
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--json", help="also write the full report to this file")
    data_options(p)
    p.set_defaults(run=_evaluate)
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
