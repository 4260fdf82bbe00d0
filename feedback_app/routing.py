"""The application's side of the classifier: model versions, prediction, routing decisions."""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timezone

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm import load_only

import classifier

from . import workflow
from .catalogue.services import DATA_DIR as CATALOGUE_DIR
from .database import write_transaction
from .extensions import db
from .models import AuditEvent, ClassifierVersion, Status, Submission
from .redaction import find_personal_data

log = logging.getLogger(__name__)

# Loaded models by artifact SHA-256: the same bytes are the same model, so a per-process cache
# is safe; every node still asks the database which version is active.
_models: dict[str, classifier.Model] = {}
_models_lock = threading.Lock()

MODERATOR_ROUTE_ACTIONS = ("route_confirmed", "route_changed")


class NoActiveModel(RuntimeError):
    pass


@dataclass(frozen=True)
class Decision:
    route: bool
    reason: str | None


def _active_version() -> ClassifierVersion:
    version = db.session.execute(
        select(ClassifierVersion)
        .options(load_only(ClassifierVersion.id, ClassifierVersion.sha256, ClassifierVersion.label))
        .where(ClassifierVersion.is_active.is_(True))
    ).scalar_one_or_none()
    if version is None:
        raise NoActiveModel("no classifier version is active")
    return version


def _model(version: ClassifierVersion) -> classifier.Model:
    with _models_lock:
        model = _models.get(version.sha256)
        if model is None:
            artifact = db.session.execute(
                select(ClassifierVersion.artifact).where(ClassifierVersion.id == version.id)
            ).scalar_one()
            # from_bytes refuses an artifact whose SHA-256 differs from the recorded one.
            model = classifier.from_bytes(artifact, sha256=version.sha256)
            _models[version.sha256] = model
        return model


def predict(text: str) -> tuple[classifier.Prediction, classifier.Model, int]:
    version = _active_version()
    model = _model(version)
    return model.predict([text], top_k=3)[0], model, version.id


def threshold(model: classifier.Model, target: str, code: str) -> float:
    """The configured floor, raised to the class's own threshold where validation chose one."""
    floor = current_app.config[f"ROUTING_{target.upper()}_THRESHOLD"]
    return max(floor, model.threshold(target, code) or 0.0)


def decide(prediction: classifier.Prediction, model: classifier.Model, text: str) -> Decision:
    if find_personal_data(text):
        return Decision(False, "contains personal data")
    if prediction.area_p < threshold(model, "area", prediction.area):
        return Decision(False, "smart area uncertain")
    if prediction.bureau_p < threshold(model, "bureau", prediction.bureau):
        return Decision(False, "bureau uncertain")
    return Decision(True, None)


def route_submission(submission_id: int) -> None:
    """Classify a stored submission and route or queue it. Never raises.

    Idempotent: only a submission still in "received" is routed, checked again under the write
    lock, so a second run (a retried task, a resent form) or a run after a moderator decided
    changes nothing.
    """
    try:
        sub = db.session.get(Submission, submission_id)
        if sub is None or sub.status != Status.RECEIVED:
            return
        text = sub.body
        prediction, model, version_id = predict(text)
        with write_transaction():
            sub = db.session.get(Submission, submission_id, with_for_update=True, populate_existing=True)
            if sub.status != Status.RECEIVED:
                return
            sub.predicted_area_code = prediction.area
            sub.predicted_area_p = prediction.area_p
            sub.predicted_bureau_code = prediction.bureau
            sub.predicted_bureau_p = prediction.bureau_p
            sub.classifier_version_id = version_id
            decision = decide(prediction, model, text)
            if decision.route:
                workflow.transition(
                    sub, Status.ROUTED, actor=None, action="auto_routed",
                    area=prediction.area, bureau=prediction.bureau,
                )
            else:
                workflow.transition(sub, Status.NEEDS_REVIEW, actor=None, action="queued_for_review", reason=decision.reason)
    except Exception as exc:  # noqa: BLE001 - any failure must leave the submission safely queued
        log.exception("routing failed for submission %s", submission_id)
        _queue_after_failure(submission_id, exc)


def _queue_after_failure(submission_id: int, exc: Exception) -> None:
    try:
        with write_transaction():
            sub = db.session.get(Submission, submission_id)
            if sub.status != Status.RECEIVED:
                return
            sub.classification_error = f"{type(exc).__name__}: {exc}"[:2000]
            workflow.transition(
                sub, Status.NEEDS_REVIEW, actor=None, action="classification_failed",
                reason=sub.classification_error,
            )
    except Exception:  # noqa: BLE001 - it is stored as "received", which the queue also lists
        log.exception("could not queue submission %s after a routing failure", submission_id)


# --- model versions -------------------------------------------------------------------

def moderated_examples() -> list[classifier.Example]:
    """Every route a moderator confirmed or corrected is a training label."""
    routed_by_moderator = select(AuditEvent.submission_id).where(AuditEvent.action.in_(MODERATOR_ROUTE_ACTIONS))
    rows = db.session.execute(
        select(Submission.body, Submission.area_code, Submission.bureau_code).where(
            Submission.id.in_(routed_by_moderator),
            Submission.bureau_code.is_not(None),
            Submission.area_code.is_not(None),
        )
    )
    return [classifier.Example(text=body, area=area, bureau=bureau) for body, area, bureau in rows]


def training_examples() -> list[classifier.Example]:
    return (
        classifier.load_examples(classifier.default_data_paths())
        + classifier.catalogue_examples(CATALOGUE_DIR)
        + moderated_examples()
    )


def train_version(*, activate: bool, evaluate: bool = True, label: str | None = None) -> ClassifierVersion:
    examples = training_examples()
    target = current_app.config["ROUTING_TARGET_PRECISION"]
    metrics = classifier.evaluate(examples, target_precision=target) if evaluate else {}
    model = classifier.train(examples, thresholds=metrics.get("thresholds"))
    artifact = classifier.to_bytes(model)
    label = label or datetime.now(timezone.utc).strftime("v%Y%m%d-%H%M%S")
    with write_transaction():
        version = ClassifierVersion(
            label=label,
            artifact=artifact,
            sha256=classifier.sha256_hex(artifact),
            training_data_hash=model.metadata["training_data_hash"],
            meta={k: v for k, v in model.metadata.items() if k != "metrics"},
            metrics=metrics,
        )
        db.session.add(version)
        db.session.flush()
        if activate:
            _activate(version.id)
    return version


def _activate(version_id: int) -> None:
    db.session.execute(update(ClassifierVersion).values(is_active=ClassifierVersion.id == version_id))


def activate(version_id: int) -> None:
    with write_transaction():
        if db.session.get(ClassifierVersion, version_id) is None:
            raise LookupError(f"no classifier version {version_id}")
        _activate(version_id)


def active_version_problem() -> str | None:
    """Why the active version cannot serve predictions, or None if it can."""
    try:
        _model(_active_version())
    except (NoActiveModel, classifier.ArtifactError) as exc:
        return str(exc)
    return None
