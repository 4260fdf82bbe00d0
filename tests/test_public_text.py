"""Moderators correct the masking before publishing: the public sees the edit, staff keep the original, the history both."""

from sqlalchemy import select

from feedback_app.extensions import db
from feedback_app.kernel.models import AuditAction, AuditEvent, Role, Submission, Visibility
from feedback_app.moderation import services as moderation

from . import factories
from .conftest import csrf_token

# The moderator masks the building the automatic check missed (its name alone is no address).
SENT = "The lift at Block 7 of Wah Fu Estate has been broken since March. Call me on 9123 4567 please."


def _open(client, sub):
    return client.get(f"/moderation/submissions/{sub.id}").get_data(as_text=True)


def test_a_moderator_edits_the_published_text_and_the_history_keeps_both(app, client, login_as):
    moderator = factories.user(Role.MODERATOR)
    sub = factories.submission(SENT)
    login_as(moderator)
    page = _open(client, sub)
    assert "[PHONE]" in page  # the automatic masking, offered for editing
    edited = "The lift at [ADDRESS] has been broken since 15 March 2024. Please fix it."
    answer = client.post(
        f"/moderation/submissions/{sub.id}/public-text",
        follow_redirects=True,
        data={
            "csrf_token": csrf_token(page),
            "version": sub.version,
            "public_text": edited,
            "submit": "Save the published text",
        },
    )
    assert "The published text is saved" in answer.get_data(as_text=True)
    db.session.expire_all()
    sub = db.session.get(Submission, sub.id)
    assert sub.body == SENT and sub.public_text == edited
    event = db.session.execute(
        select(AuditEvent).where(AuditEvent.action == AuditAction.PUBLIC_TEXT_EDITED)
    ).scalar_one()
    assert (event.before, event.after, event.actor_id) == ({"public_text": None}, {"public_text": edited}, moderator.id)
    moderation.set_visibility(sub.id, visibility=Visibility.PUBLISHED, actor=moderator, version=sub.version)
    public = client.get(f"/initiatives/{sub.initiative.code}").get_data(as_text=True)
    assert edited in public and "Wah Fu" not in public and "9123 4567" not in public


def test_back_to_the_automatic_masking(app, client, login_as):
    moderator = factories.user(Role.MODERATOR)
    sub = factories.submission(SENT)
    moderation.edit_public_text(sub.id, text="Edited.", actor=moderator, version=sub.version)
    db.session.refresh(sub)
    login_as(moderator)
    page = _open(client, sub)
    client.post(
        f"/moderation/submissions/{sub.id}/public-text",
        data={
            "csrf_token": csrf_token(page),
            "version": sub.version,
            "public_text": "",
            "submit_automatic": "Back to the automatic masking",
        },
    )
    db.session.expire_all()
    assert db.session.get(Submission, sub.id).public_text is None


def _publish(moderator, sub_id):
    sub = db.session.get(Submission, sub_id)
    moderation.set_visibility(sub.id, visibility=Visibility.PUBLISHED, actor=moderator, version=sub.version)
    return db.session.get(Submission, sub_id)


def test_an_edit_is_masked_like_any_other_text(app, client, login_as):
    """A moderator's edit used to be published as typed: personal data typed into it reached the
    public pages. It is masked now, and the moderator is told what the masking hides."""
    moderator = factories.user(Role.MODERATOR)
    sub = factories.submission(SENT)
    login_as(moderator)
    page = _open(client, sub)
    answer = client.post(
        f"/moderation/submissions/{sub.id}/public-text",
        follow_redirects=True,
        data={
            "csrf_token": csrf_token(page),
            "version": sub.version,
            "public_text": "Call me on 9123 4567 about the lift.",
            "submit": "Save the published text",
        },
    ).get_data(as_text=True)
    assert "The masking hides in it: a phone number" in answer
    assert "What the masking hides" in answer and "9123 4567" in answer  # staff see what is hidden
    sub = _publish(moderator, sub.id)
    client.get("/logout")
    for url in (f"/initiatives/{sub.initiative.code}", f"/views/{sub.reference}"):
        public = client.get(url).get_data(as_text=True)
        assert "Call me on [PHONE] about the lift." in public and "9123 4567" not in public, url


SHOP = "I called the bus company on 2266 2222 and they say the lift is fine. My number is 9123 4567."


def _mark(client, sub, ticked):
    page = _open(client, sub)
    return client.post(
        f"/moderation/submissions/{sub.id}/not-personal",
        follow_redirects=True,
        data={
            "csrf_token": csrf_token(page),
            "version": sub.version,
            "not_personal": ticked,
            "submit": "Save what is published as typed",
        },
    )


def test_a_moderator_marks_what_is_not_personal_data_and_the_choice_is_audited(app, client, login_as):
    moderator = factories.user(Role.MODERATOR)
    sub = factories.submission(SHOP)
    login_as(moderator)
    page = _open(client, sub)
    assert 'value="2266 2222"' in page and 'value="9123 4567"' in page  # each finding offered once
    answer = _mark(client, sub, ["2266 2222"])
    assert "what you ticked is published as typed" in answer.get_data(as_text=True)
    db.session.expire_all()
    sub = db.session.get(Submission, sub.id)
    assert sub.not_personal == ["2266 2222"]
    event = db.session.execute(
        select(AuditEvent).where(AuditEvent.action == AuditAction.NOT_PERSONAL_MARKED)
    ).scalar_one()
    assert (event.before, event.after, event.actor_id) == (
        {"not_personal": None},
        {"not_personal": ["2266 2222"]},
        moderator.id,
    )
    assert "Masking corrected by a moderator" in _open(client, sub)  # in the history staff read
    sub = _publish(moderator, sub.id)
    client.get("/logout")
    public = client.get(f"/views/{sub.reference}").get_data(as_text=True)
    assert "the bus company on 2266 2222 and" in public  # marked: as typed
    assert "9123 4567" not in public and "[PHONE]" in public  # the resident's own number stays hidden


def test_a_mark_holds_in_an_edited_text_and_unticking_masks_it_again(app, client, login_as):
    moderator = factories.user(Role.MODERATOR)
    sub = factories.submission(SHOP)
    login_as(moderator)
    _mark(client, sub, ["2266 2222"])
    db.session.expire_all()
    sub = db.session.get(Submission, sub.id)
    moderation.edit_public_text(
        sub.id, text="The bus company (2266 2222) says the lift is fine.", actor=moderator, version=sub.version
    )
    sub = _publish(moderator, sub.id)
    assert "company (2266 2222) says" in client.get(f"/views/{sub.reference}").get_data(as_text=True)
    _mark(client, sub, [])
    db.session.expire_all()
    sub = db.session.get(Submission, sub.id)
    assert sub.not_personal is None
    page = client.get(f"/views/{sub.reference}").get_data(as_text=True)
    assert "2266 2222" not in page and "The bus company ([PHONE]) says the lift is fine." in page
    events = (
        db.session.execute(
            select(AuditEvent).where(AuditEvent.action == AuditAction.NOT_PERSONAL_MARKED).order_by(AuditEvent.id)
        )
        .scalars()
        .all()
    )
    assert [e.after for e in events] == [{"not_personal": ["2266 2222"]}, {"not_personal": None}]


def test_only_what_the_masking_finds_can_be_marked(app, client, login_as):
    """A forged form cannot mark a text of its own (the resident's number written differently)."""
    moderator = factories.user(Role.MODERATOR)
    sub = factories.submission(SHOP)
    login_as(moderator)
    answer = _mark(client, sub, ["2266 2222", "5555 0000"]).get_data(as_text=True)
    assert "That decision is not possible" in answer
    answer = _mark(client, sub, ["hotline"]).get_data(as_text=True)
    assert "That decision is not possible" in answer
    db.session.expire_all()
    assert db.session.get(Submission, sub.id).not_personal is None
    assert not db.session.execute(
        select(AuditEvent).where(AuditEvent.action == AuditAction.NOT_PERSONAL_MARKED)
    ).first()


def test_a_stale_mark_is_refused(app, client, login_as):
    moderator = factories.user(Role.MODERATOR)
    sub = factories.submission(SHOP)
    login_as(moderator)
    page = _open(client, sub)
    seen = sub.version
    moderation.edit_public_text(
        sub.id, text="The bus company (2266 2222) says the lift is fine.", actor=moderator, version=seen
    )
    answer = client.post(
        f"/moderation/submissions/{sub.id}/not-personal",
        follow_redirects=True,
        data={
            "csrf_token": csrf_token(page),
            "version": seen,
            "not_personal": ["2266 2222"],
        },
    ).get_data(as_text=True)
    assert "Someone else decided on this view first" in answer
    db.session.expire_all()
    assert db.session.get(Submission, sub.id).not_personal is None


def test_an_empty_edit_is_refused_with_the_text_kept(app, client, login_as):
    moderator = factories.user(Role.MODERATOR)
    sub = factories.submission(SENT)
    login_as(moderator)
    page = _open(client, sub)
    answer = client.post(
        f"/moderation/submissions/{sub.id}/public-text",
        data={
            "csrf_token": csrf_token(page),
            "version": sub.version,
            "public_text": "   ",
            "submit": "Save the published text",
        },
    )
    assert answer.status_code == 400 and "Please keep some text" in answer.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Submission, sub.id).public_text is None
