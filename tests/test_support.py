"""Residents add their support to a published view instead of sending a copy; counted once."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from feedback_app.campaigns import support
from feedback_app.extensions import db
from feedback_app.kernel.models import Role, Status, Submission, Support, Visibility
from feedback_app.moderation import services as moderation

from . import factories
from .conftest import csrf_token
from .test_campaigns import CAMPAIGN, COPIES, SAME_TOPIC


@pytest.fixture(autouse=True)
def grouping(app):
    app.config["CAMPAIGNS"] = True  # suggestions and campaign counts need the near-copy keys


def _published(body: str) -> Submission:
    """A view routed, then published by a moderator (through the workflow, as the pages do)."""
    sub = factories.submission(body)
    sub.status = Status.ROUTED
    db.session.commit()
    publish(sub)
    return db.session.get(Submission, sub.id)


def publish(sub: Submission) -> None:
    moderation.set_visibility(
        sub.id,
        visibility=Visibility.PUBLISHED,
        actor=factories.user(Role.MODERATOR),
        version=db.session.get(Submission, sub.id).version,
    )
    db.session.expire_all()


def _support(client, reference: str):
    page = client.get(f"/views/{reference}")
    assert page.status_code == 200
    return client.post(
        f"/views/{reference}/support",
        data={"csrf_token": csrf_token(page.get_data(as_text=True))},
        follow_redirects=True,
    )


def _supporters() -> int:
    return db.session.execute(select(func.count()).select_from(Support)).scalar_one()


def test_a_published_view_has_its_own_page_and_any_other_view_is_not_found(app, client):
    shown = _published(SAME_TOPIC)
    waiting = factories.submission(CAMPAIGN)
    rejected = _published("The tram stops should show when the next tram comes, in both languages please.")
    rejected.status = Status.REJECTED
    db.session.commit()
    page = client.get(f"/views/{shown.reference}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "privacy safeguards in plain language" in html and "Nobody has added their support yet." in html
    assert "No answer yet." in html
    for hidden in (waiting, rejected):
        assert client.get(f"/views/{hidden.reference}").status_code == 404
        assert client.post(f"/views/{hidden.reference}/support", data={}).status_code in (400, 404)
    assert client.get("/views/SCF-0000-000000").status_code == 404


def test_support_is_counted_once_per_device(app, client):
    view = _published(SAME_TOPIC)
    first = _support(client, view.reference)
    assert "Thank you: your support is counted." in first.get_data(as_text=True)
    assert "1 person supports this view." in first.get_data(as_text=True)
    again = _support(client, view.reference)
    assert "You had already supported this view." in again.get_data(as_text=True)
    assert _supporters() == 1
    other_device = app.test_client()
    assert "2 people support this view." in _support(other_device, view.reference).get_data(as_text=True)
    # Only a keyed hash of the device's token is stored, never the token.
    token = client.get_cookie(support.DEVICE_COOKIE).value
    stored = set(db.session.execute(select(Support.supporter_hash)).scalars())
    assert token not in stored and support.supporter_hash(device_token=token) in stored


def test_a_signed_in_resident_is_counted_once_from_any_device(app, client):
    view = _published(SAME_TOPIC)
    resident = factories.user(Role.RESIDENT)
    for device in (client, app.test_client()):
        page = device.get("/account/login").get_data(as_text=True)
        device.post(
            "/account/login",
            data={"csrf_token": csrf_token(page), "email": resident.email, "password": factories.PASSWORD},
        )
        _support(device, view.reference)
    assert _supporters() == 1


def test_support_given_before_signing_in_is_not_counted_again_after(app, client):
    view = _published(SAME_TOPIC)
    resident = factories.user(Role.RESIDENT)
    _support(client, view.reference)
    page = client.get("/account/login").get_data(as_text=True)
    client.post(
        "/account/login", data={"csrf_token": csrf_token(page), "email": resident.email, "password": factories.PASSWORD}
    )
    assert "already" in _support(client, view.reference).get_data(as_text=True)
    assert _supporters() == 1


def test_staff_see_how_many_support_a_view(app, client, login_as):
    view = _published(SAME_TOPIC)
    view.bureau_code, view.area_code = "TLB", view.topic_area_code
    db.session.commit()
    _support(app.test_client(), view.reference)
    _support(app.test_client(), view.reference)
    officer = factories.user(Role.OFFICER, bureau="TLB")
    login_as(officer)
    assert "2 people support this view." in client.get(f"/bureau/submissions/{view.id}").get_data(as_text=True)


def test_a_campaign_counts_each_supporter_once_over_its_copies(app, client):
    copies = [_published(body) for body in COPIES]
    db.session.expire_all()
    assert len({db.session.get(Submission, c.id).campaign_id for c in copies}) == 1
    _support(client, copies[0].reference)
    again = _support(client, copies[2].reference)
    assert "You had already supported this view." in again.get_data(as_text=True)
    _support(app.test_client(), copies[1].reference)
    other = _published(SAME_TOPIC)
    _support(client, other.reference)
    listing = client.get(f"/initiatives/{factories.initiative().code}").get_data(as_text=True)
    assert "2 people support this view." in listing and copies[2].reference in listing
    # Statistics as a consultation reports them: four views, listed as two entries, three supports.
    tally = re.search(r'<dl class="facts tally">(.*?)</dl>', listing, re.S).group(1)
    assert re.findall(r"<dd>([^<]*)</dd>", tally) == ["4", "2 entries (1 campaign of near copies counted once)", "3"]
    assert "Sent 3 times, with light edits" in client.get(f"/views/{copies[0].reference}").get_data(as_text=True)


def test_two_clicks_at_the_same_moment_are_counted_once(app, monkeypatch):
    # Both pass the "supported already?" check before either's row is stored: the unique
    # constraint refuses the second, and only that insert is undone.
    view = _published(SAME_TOPIC)
    monkeypatch.setattr(support, "_supports_already", lambda sub, supporters: False)
    supporter = support.supporter_hash(device_token=support.new_device_token())
    assert support.add(view, supporter) is True
    assert support.add(view, supporter) is False
    assert _supporters() == 1


def test_support_needs_the_form_token(app, client):
    view = _published(SAME_TOPIC)
    assert client.post(f"/views/{view.reference}/support", data={}).status_code == 400
    assert _supporters() == 0


def test_a_forged_device_cookie_gets_a_new_token_and_counts_once(app, client):
    view = _published(SAME_TOPIC)
    client.set_cookie(support.DEVICE_COOKIE, "not-a-token'; DROP TABLE support;--")
    _support(client, view.reference)
    assert support.is_device_token(client.get_cookie(support.DEVICE_COOKIE).value)
    assert "already" in _support(client, view.reference).get_data(as_text=True)
    assert _supporters() == 1


def _similar(client, text: str):
    page = client.get(f"/initiatives/{factories.initiative().code}/views/new").get_data(as_text=True)
    return client.post("/views/similar", data={"text": text, "csrf_token": csrf_token(page)})


def test_the_form_suggests_published_copies_of_what_is_being_typed(app, client):
    published = _published(CAMPAIGN)
    waiting = factories.submission(SAME_TOPIC)  # not published: never suggested
    draft = "Dear Sir, " + CAMPAIGN.replace("recording faces", "recording our faces")
    response = _similar(client, draft)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "private, no-store"
    html = response.get_data(as_text=True)
    assert published.reference in html and f"/views/{published.reference}" in html
    assert waiting.reference not in _similar(client, SAME_TOPIC).get_data(as_text=True)
    # Another view on the same topic, in other words, is not "the same".
    assert published.reference not in _similar(client, SAME_TOPIC).get_data(as_text=True)
    assert _similar(client, "too short").get_data(as_text=True).strip() == ""


def test_a_running_campaign_is_suggested_once_at_its_newest_published_copy(app, client):
    copies = [_published(body) for body in COPIES[:2]]
    unpublished = factories.submission(COPIES[2])
    html = _similar(client, CAMPAIGN).get_data(as_text=True)
    assert copies[1].reference in html
    assert copies[0].reference not in html and unpublished.reference not in html


def test_suggestions_need_the_form_token_and_survive_hostile_text(app, client):
    assert client.post("/views/similar", data={"text": CAMPAIGN}).status_code == 400
    for text in ("\x00" * 40, "💥" * 3000, "<script>alert(1)</script>" * 10, "a" * 100_000):
        assert _similar(client, text).status_code in (200, 413)


def test_a_campaign_with_one_published_copy_is_counted_as_one_view(app, client):
    one = _published(COPIES[0])
    factories.submission(COPIES[1])  # a copy that waits for review: not public
    db.session.expire_all()
    assert db.session.get(Submission, one.id).campaign_id is not None
    listing = client.get(f"/initiatives/{factories.initiative().code}").get_data(as_text=True)
    tally = re.search(r'<dl class="facts tally">(.*?)</dl>', listing, re.S).group(1)
    assert re.findall(r"<dd>([^<]*)</dd>", tally) == ["1", "1 entry", "0"]


def _statements_of(fn) -> list[str]:
    """The SQL statements `fn` runs, as sent to the database."""
    from sqlalchemy import event

    seen = []

    def record(conn, cursor, statement, *args):
        seen.append(statement)

    db.session.rollback()  # each in a transaction of its own, as each request is
    event.listen(db.engine, "before_cursor_execute", record)
    try:
        fn()
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    return seen


def test_a_draft_like_an_unpublished_campaign_costs_what_a_draft_like_nothing_costs(app):
    from feedback_app.public import services as public

    for body in COPIES:  # a campaign waiting for moderation: nothing of it is public
        factories.submission(body)
    db.session.commit()
    like_the_campaign = _statements_of(lambda: public.similar_published(CAMPAIGN))
    like_nothing = _statements_of(
        lambda: public.similar_published(
            "My neighbourhood needs a covered walkway to the ferry pier, with lights for the evening."
        )
    )
    # The same statements, reading only published views' keys: the time of the answer cannot
    # tell that a campaign is waiting.
    assert like_the_campaign == like_nothing
    assert all("published" in statement for statement in like_the_campaign if statement != "BEGIN")


def test_a_view_leaves_the_suggestions_when_hidden_or_rejected_and_comes_back_when_published_again(app, client):
    from feedback_app.kernel.models import NearDuplicateKey, RejectionReason

    view = _published(CAMPAIGN)
    moderator = factories.user(Role.MODERATOR)
    assert view.reference in _similar(client, CAMPAIGN).get_data(as_text=True)
    moderation.set_visibility(view.id, visibility=Visibility.HIDDEN, actor=moderator, version=view.version)
    assert view.reference not in _similar(client, CAMPAIGN).get_data(as_text=True)
    publish(view)
    assert view.reference in _similar(client, CAMPAIGN).get_data(as_text=True)

    other = _published(SAME_TOPIC)
    other.status = Status.NEEDS_REVIEW
    db.session.commit()
    moderation.reject(
        other.id,
        reason=RejectionReason.OFF_TOPIC,
        note=None,
        actor=moderator,
        version=db.session.get(Submission, other.id).version,
    )
    flags = db.session.execute(select(NearDuplicateKey.published).where(NearDuplicateKey.submission_id == other.id))
    assert set(flags.scalars()) == {False}
