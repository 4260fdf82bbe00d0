"""The public version (models.PublicState) that caches and ETags are keyed on: it moves in the
very transaction of each change the public can see, never for a change it cannot, and a change
rolled back leaves it where it was."""

from __future__ import annotations

import pytest

from feedback_app.bureau import services as bureau
from feedback_app.campaigns import support
from feedback_app.extensions import db
from feedback_app.kernel import public, workflow
from feedback_app.kernel.models import AuditAction, Status, Submission, Visibility
from feedback_app.moderation import services as moderation

from . import factories


def _version() -> int:
    db.session.expire_all()
    return public.state().version


def _routed(moderator) -> Submission:
    sub = factories.submission()
    if sub.status != Status.ROUTED:
        moderation.route(sub.id, area=sub.topic_area_code, bureau="TLB", actor=moderator, version=sub.version)
    return db.session.get(Submission, sub.id)


def test_publishing_hiding_and_answering_move_the_version(app, moderator, officer):
    sub = _routed(moderator)
    before = _version()
    moderation.set_visibility(sub.id, visibility=Visibility.PUBLISHED, actor=moderator, version=sub.version)
    published = _version()
    assert published > before
    bureau.answer(officer, sub.id, bureau.AnswerText(english="We have added two trips in the morning.", chinese=None))
    answered = _version()
    assert answered > published
    sub = db.session.get(Submission, sub.id)
    moderation.set_visibility(sub.id, visibility=Visibility.HIDDEN, actor=moderator, version=sub.version)
    assert _version() > answered


def test_a_change_the_public_cannot_see_leaves_the_version(app, moderator, officer):
    before = _version()
    sub = factories.submission()  # stored and routed (or queued): nothing published
    if sub.status == Status.ROUTED:
        bureau.add_note(officer, sub.id, "An internal note.")
    assert _version() == before
    assert public.state().changed_at is not None


def test_support_moves_the_version(app, moderator):
    sub = _routed(moderator)
    moderation.set_visibility(sub.id, visibility=Visibility.PUBLISHED, actor=moderator, version=sub.version)
    view = db.session.get(Submission, sub.id)
    before = _version()
    assert support.add(view, "a" * 64)
    assert _version() == before + 1
    assert not support.add(view, "a" * 64)  # counted once: nothing changed
    assert _version() == before + 1


def test_a_change_rolled_back_leaves_the_version(app, moderator):
    sub = _routed(moderator)
    before = _version()
    with pytest.raises(RuntimeError):
        with db.session.begin_nested():
            stored = db.session.get(Submission, sub.id)
            workflow.decide(
                stored,
                workflow.Action.PUBLISH,
                actor=moderator,
                audit=AuditAction.VISIBILITY_PUBLISHED,
            )
            db.session.flush()
            raise RuntimeError("the change fails after its event was recorded")
    db.session.rollback()
    assert _version() == before
    assert db.session.get(Submission, sub.id).visibility != Visibility.PUBLISHED


def test_the_worker_notes_whether_a_view_holds_personal_data(app):
    plain = factories.submission()
    with_phone = factories.submission(factories.TRANSPORT_VIEW + " Call me on 9123 4567 about it.")
    assert db.session.get(Submission, plain.id).personal_data_found is False
    found = db.session.get(Submission, with_phone.id)
    assert found.personal_data_found is True
    assert found.status == Status.NEEDS_REVIEW  # and it waits for a moderator, as before


def test_reloading_the_catalogue_moves_the_version(app, runner):
    before = _version()
    result = runner.invoke(args=["catalogue", "load"])
    assert result.exit_code == 0, result.output
    assert _version() == before + 1
