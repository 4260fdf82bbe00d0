"""The evaluation report: DIR/report.md plus figures, one column per data set and language.

matplotlib is imported here only (Agg backend: no display), so training and prediction never
need it.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np

from .evaluation import Outcome, summarise
from .text import LANGUAGES
from .thresholds import precision_coverage_curve

if TYPE_CHECKING:  # matplotlib is imported by write_report alone
    from matplotlib.figure import Figure

SUMMARY_ROWS = (
    ("n", "texts with a bureau", "{:d}"),
    ("accuracy", "bureau top-1", "{:.3f}"),
    ("top3_accuracy", "bureau top-3", "{:.3f}"),
    ("macro_f1", "macro-F1", "{:.3f}"),
    ("ece_raw", "ECE before calibration", "{:.3f}"),
    ("ece_calibrated", "ECE after calibration", "{:.3f}"),
    ("routed_share", "routed share (model's thresholds)", "{:.3f}"),
    ("routed_precision", "precision of routed", "{:.3f}"),
    ("best_share_at_target", "best share at target precision", "{:.3f}"),
    ("flagged_off_topic_share", "owned texts flagged off-topic", "{:.3f}"),
)


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _cell(value: object, fmt: str) -> str:
    if value is None:
        return "–"
    return fmt.format(value)


def write_report(outcomes: dict[str, Outcome], out_dir: Path, *, target_precision: float, notes: list[str]) -> Path:
    """Write report.md and the PNGs it links to; returns the report's path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    summaries = {name: summarise(result, target_precision) for name, result in outcomes.items()}
    columns = [(name, lang) for name in outcomes for lang in LANGUAGES if summaries[name][lang]["bureau"].get("n")]
    lines = ["# Classifier evaluation", ""] + [f"- {note}" for note in notes] + [""]
    lines += ["## Bureau, per data set and language", ""]
    lines.append("| | " + " | ".join(f"{name} ({lang})" for name, lang in columns) + " |")
    lines.append("|---" * (len(columns) + 1) + "|")
    for key, label, fmt in SUMMARY_ROWS:
        if key == "best_share_at_target":
            label = f"best share at precision ≥ {target_precision:g}"
        cells = [_cell(summaries[name][lang]["bureau"].get(key), fmt) for name, lang in columns]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    area_cells = [_cell(summaries[name][lang].get("area_accuracy"), "{:.3f}") for name, lang in columns]
    lines.append("| smart area top-1 | " + " | ".join(area_cells) + " |")
    off_topic = {name: s["off_topic"] for name, s in summaries.items() if "off_topic" in s}
    if off_topic:
        lines += [
            "",
            "Off-topic texts flagged (off_topic_p at or above the model's cutoff): "
            + ", ".join(f"{name} {v['flagged_share']:.3f} of {v['texts']}" for name, v in off_topic.items()),
        ]
    registers = {name: s["by_register"] for name, s in summaries.items() if len(s["by_register"]) > 1}
    for name, by_register in registers.items():
        lines += [
            "",
            f"Bureau top-1 by register ({name}): "
            + ", ".join(f"{register} {v['accuracy']:.3f} (n={v['n']})" for register, v in by_register.items()),
        ]
    lines += [
        "",
        "ECE: expected calibration error of the top-1 bureau probability, 15 equal-width bins. "
        "Routed: what the model alone would send unreviewed (calibrated probability at or above its "
        "bureau's threshold for the language, and not off-topic). Best share: the largest share a "
        "single threshold could route at the target precision, knowing the labels (an upper bound).",
        "",
    ]

    for lang in LANGUAGES:
        names = [name for name, lang_ in columns if lang_ == lang]
        if not names:
            continue
        lines += [f"## {lang}: figures", ""]
        lines.append(f"![reliability]({_reliability(plt, outcomes, summaries, names, lang, out_dir)})")
        lines.append(f"![precision vs coverage]({_coverage(plt, outcomes, names, lang, out_dir, target_precision)})")
        for name in names:
            figure = _confusion(plt, outcomes[name], summaries[name], name, lang, out_dir)
            lines.append(f"![confusion {name}]({figure})")
        lines.append("")

    lines += ["## Per bureau precision / recall", ""]
    lines.append("| bureau | " + " | ".join(f"{name} ({lang}) P / R (n)" for name, lang in columns) + " |")
    lines.append("|---" * (len(columns) + 1) + "|")
    bureaus = sorted({b for name, lang in columns for b in summaries[name][lang]["bureau"]["per_class"]})
    for bureau in bureaus:
        cells = []
        for name, lang in columns:
            row = summaries[name][lang]["bureau"]["per_class"].get(bureau)
            cells.append(f"{row['precision']:.2f} / {row['recall']:.2f} ({row['support']})" if row else "–")
        lines.append(f"| {bureau} | " + " | ".join(cells) + " |")
    path = out_dir / "report.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _save(plt: ModuleType, fig: Figure, out_dir: Path, filename: str) -> str:
    """Write a figure beside the report and free it; the report links it by `filename`."""
    fig.tight_layout()
    fig.savefig(out_dir / filename, dpi=90)
    plt.close(fig)
    return filename


def _reliability(
    plt: ModuleType,
    outcomes: dict[str, Outcome],
    summaries: dict[str, dict[str, Any]],
    names: list[str],
    lang: str,
    out_dir: Path,
) -> str:
    fig, axes = plt.subplots(1, len(names), figsize=(4 * len(names), 4), squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        bureau = summaries[name][lang]["bureau"]
        for key, style, label in (("reliability_raw", "o--", "raw"), ("reliability_calibrated", "s-", "calibrated")):
            rows = [r for r in bureau[key] if r["n"]]
            ax.plot([r["confidence"] for r in rows], [r["accuracy"] for r in rows], style, label=label)
        ax.plot([0, 1], [0, 1], ":", color="grey")
        ax.set(title=f"{name} ({lang})", xlabel="top-1 probability", ylabel="accuracy", xlim=(0, 1), ylim=(0, 1))
        ax.legend(loc="upper left")
    return _save(plt, fig, out_dir, f"reliability-{lang}.png")


def _coverage(
    plt: ModuleType,
    outcomes: dict[str, Outcome],
    names: list[str],
    lang: str,
    out_dir: Path,
    target_precision: float,
) -> str:
    fig, ax = plt.subplots(figsize=(6, 4))
    for name in names:
        result = outcomes[name]
        mask = (result.langs == lang) & (result.labels != "")
        calibrated = result.calibrated[mask]
        correct = result.classes[calibrated.argmax(axis=1)] == result.labels[mask]
        coverage, precision = precision_coverage_curve(calibrated.max(axis=1), correct)
        ax.plot(coverage, precision, label=name)
    ax.axhline(target_precision, color="grey", linestyle=":")
    ax.set(
        title=f"precision vs coverage ({lang})",
        xlabel="share routed (most confident first)",
        ylabel="precision of routed",
        xlim=(0, 1),
        ylim=(0, 1.01),
    )
    ax.legend(loc="lower left")
    return _save(plt, fig, out_dir, f"precision-coverage-{lang}.png")


def _confusion(plt: ModuleType, result: Outcome, summary: dict[str, Any], name: str, lang: str, out_dir: Path) -> str:
    matrix = np.array(summary[lang]["bureau"]["confusion"])
    fig, ax = plt.subplots(figsize=(6.5, 6))
    ax.imshow(matrix, cmap="Blues")
    ticks = np.arange(len(result.classes))
    ax.set_xticks(ticks, result.classes, rotation=90)
    ax.set_yticks(ticks, result.classes)
    for (i, j), value in np.ndenumerate(matrix):
        if value:
            ax.text(
                j,
                i,
                str(value),
                ha="center",
                va="center",
                fontsize=7,
                color="white" if value > matrix.max() / 2 else "black",
            )
    ax.set(title=f"{name} ({lang})", xlabel="predicted", ylabel="true")
    return _save(plt, fig, out_dir, f"confusion-{_slug(name)}-{lang}.png")
