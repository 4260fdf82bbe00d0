"""The application's side of the classifier: loading the active version, prediction, routing
decisions and their explanations (versions themselves: model_versions.py)."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from cachetools import LRUCache
from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import load_only

import classifier

from ..campaigns import services as campaigns
from ..extensions import db
from ..kernel import workflow
from ..kernel.database import write_transaction
from ..kernel.models import AuditAction, ClassifierVersion, Status, Submission
from ..text.redaction import find_personal_data

log = logging.getLogger(__name__)

# Loaded models by artifact SHA-256: the same bytes are the same model, so a per-process cache
# is safe; every node still asks the database which version is active. The few used last are
# kept (the active one, and the one a rollback would go back to); older ones are let go.
MODELS_KEPT = 3
_models: LRUCache[str, classifier.Model] = LRUCache(maxsize=MODELS_KEPT)
_models_lock = threading.Lock()


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


def load_model(version: ClassifierVersion) -> classifier.Model:
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


def predict(sub: Submission) -> tuple[classifier.Prediction, classifier.Model, int]:
    """The active model's opinion of a view, given what the resident chose: the initiative
    (its lead bureau is evidence the model weighs) and the smart area (taken as it is)."""
    version = _active_version()
    model = load_model(version)
    initiative = sub.initiative.code if sub.initiative is not None else None
    prediction = model.predict(
        [sub.body],
        top_k=3,
        initiatives=[initiative],
        areas=[sub.topic_area_code],
        use_semantic=current_app.config["ROUTING_SEMANTIC"],
    )[0]
    return prediction, model, version.id


def decide(
    prediction: classifier.Prediction, model: classifier.Model, personal_data: bool, flags: str = ""
) -> Decision:
    """Route on the bureau alone: the smart area is the one the resident chose.

    The model's thresholds were chosen per language on held-out text for the precision bureaus
    need; ROUTING_BUREAU_THRESHOLD can only make routing stricter than that. A view flagged as
    possible abuse or spam (abuse.py) always waits for a moderator.
    """
    if flags:
        return Decision(False, "flagged for a moderator")
    if personal_data:
        return Decision(False, "contains personal data")
    if prediction.off_topic_p >= model.off_topic_cutoff:
        return Decision(False, "no bureau seems to own it")
    threshold = model.route_threshold(prediction.bureau, prediction.lang, prediction.semantic)
    floor = current_app.config["ROUTING_BUREAU_THRESHOLD"]
    if threshold is None or prediction.bureau_p < max(threshold, floor):
        return Decision(False, "bureau uncertain")
    return Decision(True, None)


def explain(sub: Submission) -> classifier.Explanation | None:
    """Why the model that routed this view predicted its bureau: the words that pushed it, as
    the resident typed them (stretches of `sub.body`, never the model's stems or n-grams), and
    the initiative's part. None when that model is gone or cannot load."""
    if sub.classifier_version_id is None:
        return None
    version = db.session.get(ClassifierVersion, sub.classifier_version_id)
    try:
        model = load_model(version)
    except classifier.ArtifactError:
        log.exception("cannot load classifier version %s to explain a prediction", sub.classifier_version_id)
        return None
    initiative = sub.initiative.code if sub.initiative is not None else None
    # The stored bureau: the words are explained for what was predicted, without re-embedding.
    return model.explain(
        sub.body, initiative=initiative, bureau=sub.predicted_bureau_code, semantic=sub.predicted_semantic
    )


def route_stored_view(submission_id: int) -> None:
    """Everything the worker does with a stored view, whether its own task or the sweep brings
    it: group it with its near copies (when CAMPAIGNS is on), then route it. Never raises.

    The one road for both: a view whose task was lost must still join its campaign, or it is
    never offered as a suggestion nor decided with its copies. Grouping comes first, while the
    view is still "received": the sweep finds only such views, so a worker lost between the
    two steps leaves nothing the sweep will not finish. Both steps are safe to repeat.
    """
    if current_app.config["CAMPAIGNS"]:
        campaigns.place(submission_id)
    route_submission(submission_id)


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
        prediction, model, version_id = predict(sub)
        with write_transaction():
            sub = db.session.get(Submission, submission_id, with_for_update=True, populate_existing=True)
            if sub.status != Status.RECEIVED:
                return
            sub.predicted_area_code = prediction.area
            sub.predicted_area_p = prediction.area_p
            sub.predicted_bureau_code = prediction.bureau
            sub.predicted_bureau_p = prediction.bureau_p
            sub.predicted_semantic = prediction.semantic
            sub.classifier_version_id = version_id
            # Stored for the public moderation report ("personal data masked"), looked for once.
            sub.personal_data_found = bool(find_personal_data(sub.body))
            decision = decide(prediction, model, sub.personal_data_found, sub.flags)
            if decision.route:
                workflow.automatic(
                    sub,
                    Status.ROUTED,
                    audit=AuditAction.AUTO_ROUTED,
                    area=sub.topic_area_code,
                    bureau=prediction.bureau,
                )
            else:
                workflow.automatic(
                    sub, Status.NEEDS_REVIEW, audit=AuditAction.QUEUED_FOR_REVIEW, reason=decision.reason
                )
    except Exception as exc:
        log.exception("routing failed for submission %s", submission_id)
        _queue_after_failure(submission_id, exc)


def _queue_after_failure(submission_id: int, exc: Exception) -> None:
    try:
        with write_transaction():
            sub = db.session.get(Submission, submission_id)
            if sub.status != Status.RECEIVED:
                return
            sub.classification_error = f"{type(exc).__name__}: {exc}"[:2000]
            workflow.automatic(
                sub,
                Status.NEEDS_REVIEW,
                audit=AuditAction.CLASSIFICATION_FAILED,
                reason=sub.classification_error,
            )
    except Exception:
        log.exception("could not queue submission %s after a routing failure", submission_id)
