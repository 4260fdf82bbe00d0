"""Classifier versions: training on the corpus and moderators' decisions, a quality gate before
activation, activation and rollback — every one audited.

The gate: a fixed part of the shipped corpus (seeded, stratified by bureau and language) is kept
out of every version the app trains, and a new version becomes active only if its bureau
accuracy on that part is not lower than the active version's, measured in the same run.
Otherwise it is kept, inactive, with both figures. Each version is scored on the same texts,
none of which it was trained on, so the comparison is fair and stays fixed between releases.

Training runs in a process of its own (`python -m classifier train`, the CLI everyone uses):
its peak memory, several times a worker's, goes back to the system when it ends.
"""

from __future__ import annotations

import logging
import subprocess  # nosec B404 - training runs the project's own CLI in a child process
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm import defer

import classifier
from classifier import cache as model_cache
from classifier import holdout, semantic

from ..extensions import db
from ..kernel import audit, task_queue
from ..kernel.catalogue import DATA_DIR as CATALOGUE_DIR
from ..kernel.database import write_transaction
from ..kernel.models import (
    TRAINING_UNDER_WAY,
    AuditAction,
    AuditEvent,
    ClassifierVersion,
    Initiative,
    Submission,
    TrainingRun,
    TrainingStatus,
    User,
)
from .services import NoActiveModel, load_model  # routing caches loaded models by their hash

log = logging.getLogger(__name__)

# The retraining task (routing/tasks.py, which imports this module) is queued by this name.
RETRAIN_TASK = "routing.retrain"

MODERATOR_ROUTE_ACTIONS = (AuditAction.ROUTE_CONFIRMED, AuditAction.ROUTE_CHANGED)
GATE_FRACTION = 0.15
GATE_SEED = 20261126  # not the classifier's own held-out seed: a different draw
# Steps of a retraining as the admin page shows them, with the progress each one reaches.
TRAINING_STEPS = {"examples": 10, "training": 20, "gate": 80, "stored": 100}
# A run still queued or running after this has lost its worker (restarted, killed): it is
# marked failed, and a new one may be asked for. Training takes about a minute.
TRAINING_TIMEOUT = timedelta(minutes=30)
PROJECT_ROOT = Path(classifier.__file__).resolve().parent.parent


class TrainingFailed(RuntimeError):
    pass


class RetrainingBusy(RuntimeError):
    """A retraining is already queued or running."""


@dataclass(frozen=True)
class GateResult:
    n: int
    accuracy: float
    active_accuracy: float | None  # None when no version was active

    @property
    def passed(self) -> bool:
        return self.active_accuracy is None or self.accuracy >= self.active_accuracy

    def as_dict(self) -> dict:
        return {"n": self.n, "accuracy": self.accuracy, "active_accuracy": self.active_accuracy, "passed": self.passed}


# --- examples ----------------------------------------------------------------------------


def moderated_examples() -> list[classifier.Example]:
    """Every route a moderator confirmed or corrected is a training label (with its initiative)."""
    routed_by_moderator = select(AuditEvent.submission_id).where(AuditEvent.action.in_(MODERATOR_ROUTE_ACTIONS))
    rows = db.session.execute(
        select(Submission.body, Submission.area_code, Submission.bureau_code, Initiative.code)
        .outerjoin(Initiative, Initiative.id == Submission.initiative_id)
        .where(
            Submission.id.in_(routed_by_moderator),
            Submission.bureau_code.is_not(None),
            Submission.area_code.is_not(None),
        )
    )
    return [
        classifier.Example(text=body, area=area, bureau=bureau, initiative=initiative)
        for body, area, bureau, initiative in rows
    ]


def _corpus() -> list[classifier.Example]:
    return classifier.load_examples(classifier.default_data_paths()) + classifier.catalogue_examples(CATALOGUE_DIR)


def split_for_gate(corpus: list[classifier.Example]) -> tuple[list[classifier.Example], list[classifier.Example]]:
    """(what versions train on, the fixed gate part)."""
    training, gate = holdout.split_examples(corpus, fraction=GATE_FRACTION, seed=GATE_SEED)
    return [corpus[i] for i in training], [corpus[i] for i in gate]


def bureau_accuracy(model: classifier.Model, examples: list[classifier.Example]) -> float:
    """On the gate texts, scored as the worker routes (with the semantic model if it is on)."""
    with semantic.remembering():  # the gate texts are corpus texts: their embeddings are shipped
        predictions = model.predict(
            [e.text for e in examples],
            initiatives=[e.initiative for e in examples],
            use_semantic=current_app.config["ROUTING_SEMANTIC"],
        )
    return round(sum(p.bureau == e.bureau for p, e in zip(predictions, examples, strict=True)) / len(examples), 4)


def cached_model(examples: list[classifier.Example], offtopic: list[str], target_precision: float) -> classifier.Model:
    """train_model's model, kept on disk by its training data's hash (classifier/cache.py): a fresh
    database's first version (`flask classifier ensure`, `make run`) is read back, not trained again."""
    settings = {
        "for": "routing versions",
        "target_precision": target_precision,
        "semantic": bool(current_app.config["ROUTING_SEMANTIC"]),
    }
    artifact, _ = model_cache.cached_artifact(
        examples,
        offtopic,
        lambda: classifier.to_bytes(train_model(examples, offtopic, target_precision)),
        settings=settings,
    )
    return classifier.from_bytes(artifact, sha256=classifier.sha256_hex(artifact))


def train_model(examples: list[classifier.Example], offtopic: list[str], target_precision: float) -> classifier.Model:
    """`python -m classifier train` on these examples, in a child process; the model it wrote."""
    with tempfile.TemporaryDirectory(prefix="scf-training-") as folder:
        folder = Path(folder)
        classifier.write_examples(examples, folder / "examples.jsonl")
        command = [
            sys.executable,
            "-m",
            "classifier",
            "train",
            "--out",
            str(folder / "model.npz"),
            "--data",
            str(folder / "examples.jsonl"),
            "--no-catalogue",
            "--target-precision",
            str(target_precision),
        ]
        if offtopic:
            classifier.write_offtopic(offtopic, folder / "offtopic.jsonl")
            command += ["--offtopic", str(folder / "offtopic.jsonl")]
        else:
            command.append("--no-offtopic")
        if not current_app.config["ROUTING_SEMANTIC"]:
            command.append("--no-semantic")  # a model part the workers would never ask
        try:
            finished = subprocess.run(  # nosec B603 - fixed arguments: this interpreter and our own CLI
                command,
                cwd=PROJECT_ROOT,
                capture_output=True,
                text=True,
                timeout=TRAINING_TIMEOUT.total_seconds(),
            )
        except subprocess.TimeoutExpired as exc:
            raise TrainingFailed(f"training took longer than {TRAINING_TIMEOUT}") from exc
        if finished.returncode != 0:
            lines = [line for line in finished.stderr.splitlines() if line.strip()]
            raise TrainingFailed(lines[-1] if lines else f"training exited with status {finished.returncode}")
        return classifier.load(folder / "model.npz")


# --- versions ----------------------------------------------------------------------------


def active_version() -> ClassifierVersion | None:
    return db.session.execute(
        select(ClassifierVersion)
        .options(defer(ClassifierVersion.artifact))
        .where(ClassifierVersion.is_active.is_(True))
    ).scalar_one_or_none()


def _audit(
    action: AuditAction, version: ClassifierVersion, actor: User | None, *, before=None, after=None, reason=None
) -> None:
    audit.record(action, actor=actor, classifier_version_id=version.id, before=before, after=after, reason=reason)


def train_version(
    *,
    actor: User | None = None,
    label: str | None = None,
    activate: str = "if_not_worse",
    progress: Callable[[str], None] = lambda step: None,
    cached: bool = False,
) -> tuple[ClassifierVersion, GateResult]:
    """Train a version and store it. `activate`: "if_not_worse" (the gate decides) or "always"
    (the first version, or an operator's explicit choice on the CLI). `cached`: a model trained
    before on the same data is read from disk (`flask classifier ensure`)."""
    progress("examples")
    corpus_part, gate = split_for_gate(_corpus())
    moderated = moderated_examples()
    examples = corpus_part + moderated
    offtopic = classifier.load_offtopic(classifier.default_offtopic_paths())
    progress("training")
    model = (cached_model if cached else train_model)(
        examples, offtopic, current_app.config["ROUTING_TARGET_PRECISION"]
    )
    progress("gate")
    accuracy = bureau_accuracy(model, gate)
    artifact = classifier.to_bytes(model)
    label = label or datetime.now(UTC).strftime("v%Y%m%d-%H%M%S")
    # Compared with the version active when the new one is stored, not when training began: an
    # admin may have activated another meanwhile. Scoring happens outside the write lock, so
    # if the active version changed while it was scored, it is scored again.
    while True:
        compared_id, active_accuracy = _active_accuracy(gate)
        with write_transaction():
            current = active_version()
            if (current.id if current is not None else None) != compared_id:
                continue
            result = GateResult(n=len(gate), accuracy=accuracy, active_accuracy=active_accuracy)
            version = _store(
                model,
                artifact,
                label,
                result,
                len(examples),
                len(moderated),
                actor,
                activate == "always" or (activate == "if_not_worse" and result.passed),
            )
            break
    progress("stored")
    return version, result


def _active_accuracy(gate: list[classifier.Example]) -> tuple[int | None, float | None]:
    """(the active version's id, its gate accuracy); None for the accuracy when it cannot load."""
    current = active_version()
    if current is None:
        return None, None
    try:
        return current.id, bureau_accuracy(load_model(current), gate)
    except classifier.ArtifactError as exc:
        # A version that cannot serve (built by older feature code, say) holds nothing back.
        log.warning("the active version %s cannot be loaded (%s): the new one is not compared", current.label, exc)
        return current.id, None


def _store(model, artifact, label, result, examples, moderated, actor, activate: bool) -> ClassifierVersion:
    """Inside the caller's write transaction: the version, its audit event, and its activation."""
    version = ClassifierVersion(
        label=label,
        artifact=artifact,
        sha256=classifier.sha256_hex(artifact),
        training_data_hash=model.metadata["training_data_hash"],
        meta={k: v for k, v in model.metadata.items() if k not in ("held_out_metrics", "initiative_leads")},
        metrics={
            "gate": result.as_dict(),
            "held_out": model.metadata.get("held_out_metrics", {}),
            "examples": examples,
            "moderated_examples": moderated,
        },
    )
    db.session.add(version)
    db.session.flush()
    _audit(AuditAction.CLASSIFIER_TRAINED, version, actor, after=result.as_dict())
    if activate:
        _switch_to(version, actor, action=AuditAction.CLASSIFIER_ACTIVATED)
    return version


def _switch_to(version: ClassifierVersion, actor: User | None, *, action: AuditAction) -> None:
    previous = active_version()
    db.session.execute(update(ClassifierVersion).values(is_active=ClassifierVersion.id == version.id))
    _audit(
        action, version, actor, before={"active": previous.label if previous else None}, after={"active": version.label}
    )


def activate(version_id: int, actor: User | None = None) -> ClassifierVersion:
    """Make a stored version the active one (a rollback is the activation of an older one)."""
    with write_transaction():
        version = db.session.get(ClassifierVersion, version_id)
        if version is None:
            raise LookupError(f"no classifier version {version_id}")
        current = active_version()
        if current is not None and current.id == version.id:
            return version
        older = current is not None and version.id < current.id
        _switch_to(
            version, actor, action=AuditAction.CLASSIFIER_ROLLED_BACK if older else AuditAction.CLASSIFIER_ACTIVATED
        )
    return version


def active_version_problem() -> str | None:
    """Why the active version cannot serve predictions, or None if it can."""
    try:
        version = active_version()
        if version is None:
            raise NoActiveModel("no classifier version is active")
        load_model(version)
    except (NoActiveModel, classifier.ArtifactError) as exc:
        return str(exc)
    return None


# --- retraining by the worker --------------------------------------------------------------


def request_retraining(actor: User | None) -> TrainingRun:
    """Record a retraining and hand it to the worker; the admin page follows its progress.

    Raises RetrainingBusy while another run is queued or running: two would compete for the
    same worker and the second would only repeat the first.
    """
    expire_stalled_runs()
    with write_transaction():
        busy = db.session.execute(
            select(TrainingRun).where(TrainingRun.status.in_(TRAINING_UNDER_WAY)).limit(1)
        ).scalar_one_or_none()
        if busy is not None:
            raise RetrainingBusy(f"retraining run {busy.id} is {busy.status}")
        run = TrainingRun(
            status=TrainingStatus.QUEUED, progress=0, requested_by_id=actor.id if actor is not None else None
        )
        db.session.add(run)
    if not task_queue.enqueue(RETRAIN_TASK, run.id):
        with write_transaction():
            run = db.session.get(TrainingRun, run.id)
            run.status, run.error = TrainingStatus.FAILED, QUEUE_UNREACHABLE
            run.finished_at = datetime.now(UTC)
    return run


# Stored as a run's error; the admin page translates them (i18n.TRAINING_ERROR_LABELS).
STALLED = "stopped: no result within the time allowed (was the worker restarted?)"
QUEUE_UNREACHABLE = "the task queue could not be reached; try again later"


def expire_stalled_runs() -> int:
    """Mark runs that have waited or run past TRAINING_TIMEOUT as failed; how many there were."""
    cutoff = datetime.now(UTC) - TRAINING_TIMEOUT
    with write_transaction():
        return db.session.execute(
            update(TrainingRun)
            .where(TrainingRun.status.in_(TRAINING_UNDER_WAY), TrainingRun.created_at < cutoff)
            .values(status=TrainingStatus.FAILED, error=STALLED, finished_at=datetime.now(UTC))
        ).rowcount


def _set(run_id: int, **values) -> None:
    with write_transaction():
        db.session.execute(update(TrainingRun).where(TrainingRun.id == run_id).values(**values))


def run_retraining(run_id: int) -> None:
    """The worker's side: train, gate, store, reporting progress. Safe to run twice: a run that
    already started or ended is left alone."""
    with write_transaction():
        run = db.session.get(TrainingRun, run_id, with_for_update=True)
        if run is None or run.status != TrainingStatus.QUEUED:
            return
        run.status = TrainingStatus.RUNNING
        actor = run.requested_by
    try:
        version, _ = train_version(
            actor=actor,
            progress=lambda step: _set(run_id, step=step, progress=TRAINING_STEPS[step]),
        )
    except Exception as exc:
        log.exception("retraining run %s failed", run_id)
        db.session.rollback()
        _set(
            run_id,
            status=TrainingStatus.FAILED,
            error=f"{type(exc).__name__}: {exc}"[:2000],
            finished_at=datetime.now(UTC),
        )
        return
    _set(run_id, status=TrainingStatus.DONE, version_id=version.id, finished_at=datetime.now(UTC))


def latest_runs(limit: int = 5) -> list[TrainingRun]:
    return list(db.session.execute(select(TrainingRun).order_by(TrainingRun.id.desc()).limit(limit)).scalars())


def versions() -> list[ClassifierVersion]:
    return list(
        db.session.execute(
            select(ClassifierVersion).options(defer(ClassifierVersion.artifact)).order_by(ClassifierVersion.id.desc())
        ).scalars()
    )


VERSION_ACTIONS = (AuditAction.CLASSIFIER_TRAINED, AuditAction.CLASSIFIER_ACTIVATED, AuditAction.CLASSIFIER_ROLLED_BACK)


def version_history(limit: int = 20) -> list[AuditEvent]:
    return list(
        db.session.execute(
            select(AuditEvent).where(AuditEvent.action.in_(VERSION_ACTIONS)).order_by(AuditEvent.id.desc()).limit(limit)
        ).scalars()
    )
