"""Moderators correct the masking before publishing: the public sees the edit, staff keep the original, the history both."""
from sqlalchemy import select

from feedback_app.extensions import db
from feedback_app.models import AuditAction, AuditEvent, Role, Submission, Visibility
from feedback_app.moderation import services as moderation

from . import factories
from .conftest import csrf_token

# The automatic masking takes the date for a phone number; the moderator gives the date back
# and masks the building the automatic check missed.
SENT = "The lift at Block 7 of Wah Fu Estate has been broken since 20240315. Please fix it."


def _open(client, sub):
    return client.get(f"/moderation/submissions/{sub.id}").get_data(as_text=True)


def test_a_moderator_edits_the_published_text_and_the_history_keeps_both(app, client, login_as):
    moderator = factories.user(Role.MODERATOR)
    sub = factories.submission(SENT)
    login_as(moderator)
    page = _open(client, sub)
    assert "[PHONE]" in page  # the automatic masking, offered for editing
    edited = "The lift at [ADDRESS] has been broken since 15 March 2024. Please fix it."
    answer = client.post(f"/moderation/submissions/{sub.id}/public-text", follow_redirects=True, data={
        "csrf_token": csrf_token(page), "version": sub.version, "public_text": edited,
        "submit": "Save the published text",
    })
    assert "The published text is saved" in answer.get_data(as_text=True)
    db.session.expire_all()
    sub = db.session.get(Submission, sub.id)
    assert sub.body == SENT and sub.public_text == edited
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == AuditAction.PUBLIC_TEXT_EDITED)).scalar_one()
    assert (event.before, event.after, event.actor_id) == ({"public_text": None}, {"public_text": edited}, moderator.id)
    moderation.set_visibility(sub.id, visibility=Visibility.PUBLISHED, actor=moderator, version=sub.version)
    public = client.get(f"/initiatives/{sub.initiative.code}").get_data(as_text=True)
    assert edited in public and "Wah Fu" not in public and "20240315" not in public


def test_back_to_the_automatic_masking(app, client, login_as):
    moderator = factories.user(Role.MODERATOR)
    sub = factories.submission(SENT)
    moderation.edit_public_text(sub.id, text="Edited.", actor=moderator, version=sub.version)
    db.session.refresh(sub)
    login_as(moderator)
    page = _open(client, sub)
    client.post(f"/moderation/submissions/{sub.id}/public-text", data={
        "csrf_token": csrf_token(page), "version": sub.version, "public_text": "",
        "submit_automatic": "Back to the automatic masking",
    })
    db.session.expire_all()
    assert db.session.get(Submission, sub.id).public_text is None


def test_an_edit_that_still_shows_personal_data_is_saved_with_a_warning(app, client, login_as):
    moderator = factories.user(Role.MODERATOR)
    sub = factories.submission(SENT)
    login_as(moderator)
    page = _open(client, sub)
    answer = client.post(f"/moderation/submissions/{sub.id}/public-text", follow_redirects=True, data={
        "csrf_token": csrf_token(page), "version": sub.version, "public_text": "Call me on 9123 4567 about the lift.",
        "submit": "Save the published text",
    }).get_data(as_text=True)
    assert "still finds what looks like personal data in it: a phone number" in answer


def test_an_empty_edit_is_refused_with_the_text_kept(app, client, login_as):
    moderator = factories.user(Role.MODERATOR)
    sub = factories.submission(SENT)
    login_as(moderator)
    page = _open(client, sub)
    answer = client.post(f"/moderation/submissions/{sub.id}/public-text", data={
        "csrf_token": csrf_token(page), "version": sub.version, "public_text": "   ", "submit": "Save the published text",
    })
    assert answer.status_code == 400 and "Please keep some text" in answer.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Submission, sub.id).public_text is None
