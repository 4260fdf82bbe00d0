"""Retraining with a quality gate, activation and rollback, audited; the admin page drives it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

import classifier
from feedback_app.extensions import db
from feedback_app.kernel.models import AuditEvent, ClassifierVersion, Role, TrainingRun
from feedback_app.moderation import services as moderation
from feedback_app.routing import tasks
from feedback_app.routing import versions as model_versions

from . import factories
from .conftest import csrf_token

# A small corpus keeps each training to a few seconds; the gate logic is the same at any size.
SMALL = 700


@pytest.fixture
def small_corpus(monkeypatch):
    corpus = model_versions._corpus()
    step = max(1, len(corpus) // SMALL)
    monkeypatch.setattr(model_versions, "_corpus", lambda: corpus[::step])
    monkeypatch.setattr(classifier, "default_offtopic_paths", lambda: [])


def _actions() -> list[str]:
    return [
        e.action
        for e in db.session.execute(
            select(AuditEvent).where(AuditEvent.classifier_version_id.is_not(None)).order_by(AuditEvent.id)
        ).scalars()
    ]


@pytest.mark.slow  # trains two real models (about 20 s)
def test_a_version_not_worse_than_the_active_one_becomes_active(app, small_corpus):
    first, gate = model_versions.train_version(activate="always", label="first")
    assert first.is_active and gate.n > 0
    second, gate = model_versions.train_version(label="second")
    # The same data gives the same model: not worse, so it is activated.
    assert gate.accuracy == gate.active_accuracy and gate.passed
    db.session.refresh(first)
    assert second.is_active and not first.is_active
    assert _actions() == ["classifier_trained", "classifier_activated", "classifier_trained", "classifier_activated"]


@pytest.mark.slow  # trains two real models (about 20 s)
def test_a_worse_version_stays_inactive_with_its_figures(app, small_corpus, monkeypatch):
    good, _ = model_versions.train_version(activate="always", label="good")
    # The same gate texts, but every training label shifted to the next bureau: a model that
    # learns the wrong owner for everything.
    training, gate_texts = model_versions.split_for_gate(model_versions._corpus())
    codes = sorted(classifier.BUREAUS)
    shifted = [
        classifier.Example(e.text, e.area, codes[(codes.index(e.bureau) + 1) % len(codes)] if e.bureau else None)
        for e in training
    ]
    monkeypatch.setattr(model_versions, "split_for_gate", lambda _corpus: (shifted, gate_texts))
    worse, gate = model_versions.train_version(label="worse")
    assert not gate.passed and gate.accuracy < gate.active_accuracy
    db.session.refresh(good)
    assert good.is_active and not worse.is_active
    assert worse.metrics["gate"] == {
        "n": gate.n,
        "accuracy": gate.accuracy,
        "active_accuracy": gate.active_accuracy,
        "passed": False,
    }


def test_activation_and_rollback_are_audited_and_picked_up_by_routing(app, small_corpus):
    admin = factories.user(Role.ADMIN)
    old = db.session.execute(select(ClassifierVersion).where(ClassifierVersion.is_active.is_(True))).scalar_one()
    new, _ = model_versions.train_version(activate="always", actor=admin, label="new")
    assert factories.submission().classifier_version_id == new.id  # the next view uses it at once
    model_versions.activate(old.id, actor=admin)
    assert _actions()[-1] == "classifier_rolled_back"
    assert factories.submission().classifier_version_id == old.id


def test_a_moderators_correction_changes_the_next_models_prediction(app, small_corpus):
    text = "Please add a lift at the footbridge next to my building, the stairs are too hard for wheelchairs."
    moderator = factories.user(Role.MODERATOR)
    sub = factories.submission(text)
    before = sub.predicted_bureau_code
    target = "HYAB" if before != "HYAB" else "HHB"
    # The same correction several times over (as for a text residents send again and again).
    for _ in range(3):
        sub = factories.submission(text)
        db.session.refresh(sub)
        moderation.route(sub.id, area=sub.topic_area_code, bureau=target, actor=moderator, version=sub.version)
    model_versions.train_version(activate="always", label="learned")
    after = factories.submission(text)
    assert after.predicted_bureau_code == target


def test_retraining_from_the_admin_page_runs_in_the_worker_and_shows_progress(app, client, login_as, small_corpus):
    login_as(factories.user(Role.ADMIN))
    page = client.get("/admin/classifier")
    assert page.status_code == 200 and "Retrain now" in page.get_data(as_text=True)
    done = client.post(
        "/admin/classifier/retrain", data={"csrf_token": csrf_token(page.get_data(as_text=True))}, follow_redirects=True
    )
    assert done.status_code == 200
    run = db.session.execute(select(TrainingRun)).scalar_one()
    assert (run.status, run.error, run.progress) == ("done", None, 100) and run.version_id is not None  # immediate mode
    # The session's model saw every corpus text, the gate texts included, so this smaller one
    # may well be kept inactive: the page says which, as the version records it.
    version = db.session.get(ClassifierVersion, run.version_id)
    expected = "passed the quality gate" if version.metrics["gate"]["passed"] else "kept inactive"
    assert expected in done.get_data(as_text=True)
    assert version.is_active == version.metrics["gate"]["passed"]
    # Running the same task again (a retried task) changes nothing.
    tasks.retrain(run.id)
    assert db.session.execute(select(TrainingRun)).scalar_one().version_id == run.version_id
    assert len(model_versions.versions()) == 2


def test_a_failed_retraining_says_why_and_keeps_the_active_version(app, monkeypatch):
    active = model_versions.active_version()

    def broken(*args, **kwargs):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(model_versions, "train_model", broken)
    run = model_versions.request_retraining(None)
    db.session.refresh(run)
    assert run.status == "failed" and "out of memory" in run.error
    assert model_versions.active_version().id == active.id


def test_only_admins_manage_versions(app, client, login_as):
    login_as(factories.user(Role.MODERATOR))
    assert client.get("/admin/classifier").status_code == 403


def test_an_active_version_that_cannot_load_does_not_block_a_new_one(app, small_corpus):
    active = model_versions.active_version()
    active.sha256 = "0" * 64  # as good as an artifact built by older feature code: it will not load
    db.session.commit()
    assert model_versions.active_version_problem() is not None
    version, gate = model_versions.train_version(label="replacement")
    assert gate.active_accuracy is None and gate.passed and version.is_active
    assert model_versions.active_version_problem() is None


def test_training_runs_in_a_child_process_whose_error_the_run_reports(app, monkeypatch):
    only_transport = [e for e in model_versions._corpus() if e.bureau == "TLB"]
    monkeypatch.setattr(model_versions, "_corpus", lambda: only_transport)
    monkeypatch.setattr(classifier, "default_offtopic_paths", lambda: [])
    run = model_versions.request_retraining(None)
    db.session.refresh(run)
    # The child's own message (classifier.training refuses one bureau), not a bare exit status.
    assert run.status == "failed" and "at least two bureaus" in run.error


def test_a_second_retraining_is_refused_while_one_is_under_way(app, client, login_as):
    waiting = TrainingRun(status="queued", progress=0)
    db.session.add(waiting)
    db.session.commit()
    with pytest.raises(model_versions.RetrainingBusy):
        model_versions.request_retraining(None)
    login_as(factories.user(Role.ADMIN))
    page = client.get("/admin/classifier")
    answer = client.post(
        "/admin/classifier/retrain", data={"csrf_token": csrf_token(page.get_data(as_text=True))}, follow_redirects=True
    )
    assert "already under way" in answer.get_data(as_text=True)
    assert db.session.execute(select(TrainingRun)).scalars().all() == [waiting]


def test_a_run_whose_worker_was_lost_is_closed_and_a_new_one_may_start(app, client, login_as, monkeypatch):
    lost = TrainingRun(
        status="running",
        progress=20,
        step="training",
        created_at=datetime.now(UTC) - model_versions.TRAINING_TIMEOUT - timedelta(minutes=1),
    )
    recent = TrainingRun(status="failed", progress=0, created_at=datetime.now(UTC))
    db.session.add_all([lost, recent])
    db.session.commit()
    tasks.sweep_unrouted()  # the worker's minute-by-minute sweep
    db.session.refresh(lost)
    assert lost.status == "failed" and lost.error == model_versions.STALLED
    login_as(factories.user(Role.ADMIN))
    page = client.get("/admin/classifier", headers={"Accept-Language": "zh-HK"}).get_data(as_text=True)
    assert "data-refresh" not in page  # nothing left to follow
    assert "was the worker restarted" not in page  # shown in the reader's language
    monkeypatch.setattr(model_versions, "train_model", lambda *args: (_ for _ in ()).throw(RuntimeError("no memory")))
    assert model_versions.request_retraining(None).status == "failed"  # accepted, and ran


@pytest.mark.slow  # trains two real models (about 20 s)
def test_the_gate_compares_with_the_version_active_when_the_new_one_is_stored(app, small_corpus, monkeypatch):
    first, _ = model_versions.train_version(activate="always", label="first")
    second, _ = model_versions.train_version(activate="always", label="second")
    measure, calls = model_versions._active_accuracy, []

    def meanwhile_an_admin_rolls_back(gate):
        result = measure(gate)
        if not calls:
            model_versions.activate(first.id)  # while the new version was being scored
        calls.append(result[0])
        return result

    monkeypatch.setattr(model_versions, "_active_accuracy", meanwhile_an_admin_rolls_back)
    third, gate = model_versions.train_version(label="third")
    assert calls == [second.id, first.id]
    event = db.session.execute(
        select(AuditEvent).where(
            AuditEvent.classifier_version_id == third.id, AuditEvent.action == "classifier_trained"
        )
    ).scalar_one()
    assert event.after["active_accuracy"] == gate.active_accuracy
