"""Following an initiative, and the weekly digest of what was newly published on it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from feedback_app.bureau import services as bureau
from feedback_app.catalogue import digest
from feedback_app.extensions import db
from feedback_app.intake import services as intake
from feedback_app.kernel.models import (
    Initiative,
    InitiativeFollow,
    MailSuppression,
    OutboxMessage,
    Role,
    Submission,
    User,
    Visibility,
)
from feedback_app.mail import outbox
from feedback_app.moderation import services as moderation

from . import factories
from .conftest import csrf_token

PHONE_VIEW = factories.TRANSPORT_VIEW + " Call me on 9123 4567 about it."


@pytest.fixture
def queued(app):
    """Nothing is routed or published without a moderator: each test publishes what it lists."""
    app.config["ROUTING_BUREAU_THRESHOLD"] = 1.01


def _verified_resident(email=None, locale=None) -> User:
    user = factories.user(Role.RESIDENT, email=email)
    db.session.execute(
        update(User).where(User.id == user.id).values(email_verified_at=datetime.now(UTC), locale=locale)
    )
    db.session.commit()
    return db.session.get(User, user.id)


def _unverified_resident() -> User:
    user = factories.user(Role.RESIDENT)
    db.session.execute(update(User).where(User.id == user.id).values(email_verified_at=None))
    db.session.commit()
    return user


def _follow(user, initiative):
    db.session.add(InitiativeFollow(user_id=user.id, initiative_id=initiative.id))
    db.session.commit()


def _view(body=factories.TRANSPORT_VIEW, initiative=None) -> Submission:
    init = initiative or factories.initiative()
    receipt = intake.submit(
        intake.NewSubmission(body=body, language="en", topic_area=init.area_code, initiative_id=init.id)
    )
    return db.session.get(Submission, receipt.submission_id)


def _route(sub, moderator):
    db.session.refresh(sub)
    moderation.route(sub.id, area=sub.topic_area_code, bureau="TLB", actor=moderator, version=sub.version)
    db.session.refresh(sub)


def _publish(sub, moderator):
    db.session.refresh(sub)
    moderation.set_visibility(sub.id, visibility=Visibility.PUBLISHED, actor=moderator, version=sub.version)
    db.session.refresh(sub)


def _published(moderator, body=factories.TRANSPORT_VIEW, initiative=None) -> Submission:
    sub = _view(body, initiative)
    _route(sub, moderator)
    _publish(sub, moderator)
    return sub


def _digests() -> list[OutboxMessage]:
    return list(db.session.execute(select(OutboxMessage).where(OutboxMessage.kind == "digest")).scalars())


def _later(minutes=0) -> datetime:
    """The moment a run covers up to: now, or later."""
    return datetime.now(UTC) + timedelta(minutes=minutes)


# --- Following --------------------------------------------------------------------------------


def test_a_verified_resident_follows_and_stops_following_from_the_initiative_page(browser, login_as):
    resident = login_as(_verified_resident())
    initiative = factories.initiative()
    url = f"/initiatives/{initiative.code}"
    page = browser.client.get(url).get_data(as_text=True)
    assert "Follow this initiative" in page and "Stop following" not in page
    followed = browser.client.post(
        f"{url}/follow", data={"csrf_token": csrf_token(page)}, follow_redirects=True
    ).get_data(as_text=True)
    assert "You follow this initiative" in followed and "Stop following" in followed
    assert db.session.execute(select(InitiativeFollow.user_id)).scalars().all() == [resident.id]
    # Twice is still one follow.
    browser.client.post(f"{url}/follow", data={"csrf_token": csrf_token(followed)})
    assert len(db.session.execute(select(InitiativeFollow)).scalars().all()) == 1
    listed = browser.client.get("/account/following").get_data(as_text=True)
    assert initiative.title_en in listed
    stopped = browser.client.post(
        f"{url}/unfollow",
        data={"csrf_token": csrf_token(listed), "next": "/account/following"},
        follow_redirects=True,
    )
    assert stopped.request.path == "/account/following"
    html = stopped.get_data(as_text=True)
    assert "You do not follow any initiative yet." in html and f"You no longer follow {initiative.title_en}" in html
    assert db.session.execute(select(InitiativeFollow)).scalars().all() == []


def test_following_needs_a_post_with_its_security_token(browser, login_as):
    login_as(_verified_resident())
    initiative = factories.initiative()
    assert browser.client.get(f"/initiatives/{initiative.code}/follow").status_code == 405
    assert browser.client.post(f"/initiatives/{initiative.code}/follow").status_code == 400
    assert db.session.execute(select(InitiativeFollow)).scalars().all() == []


def test_others_are_told_how_to_follow_and_cannot(client, browser, login_as):
    initiative = factories.initiative()
    url = f"/initiatives/{initiative.code}"
    visitor = client.get(url).get_data(as_text=True)
    assert "Sign in to follow this initiative" in visitor and "Follow this initiative</button>" not in visitor
    assert client.get("/account/following").status_code == 302  # to sign in
    login_as(_unverified_resident())
    page = browser.client.get(url).get_data(as_text=True)
    assert "first confirm your account's e-mail address" in page and "Follow this initiative</button>" not in page
    refused = browser.client.post(f"{url}/follow", data={"csrf_token": csrf_token(page)}, follow_redirects=True)
    assert "Please confirm your account&#39;s e-mail address first" in refused.get_data(as_text=True)
    assert db.session.execute(select(InitiativeFollow)).scalars().all() == []


def test_staff_cannot_follow(browser, login_as, moderator):
    login_as(moderator)
    initiative = factories.initiative()
    page = browser.client.get(f"/initiatives/{initiative.code}").get_data(as_text=True)
    assert "Residents' accounts can follow an initiative" in page
    response = browser.client.post(f"/initiatives/{initiative.code}/follow", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 403
    assert (
        browser.client.post("/initiatives/no-such-thing/follow", data={"csrf_token": csrf_token(page)}).status_code
        == 404
    )


def test_the_list_of_followed_initiatives_pages(app, browser, login_as):
    app.config["PAGE_SIZE"] = 2
    resident = login_as(_verified_resident())
    initiatives = db.session.execute(select(Initiative).order_by(Initiative.id).limit(3)).scalars().all()
    for initiative in initiatives:
        _follow(resident, initiative)
    first = browser.client.get("/account/following").get_data(as_text=True)
    assert initiatives[0].title_en in first and initiatives[2].title_en not in first
    assert f"after={initiatives[1].id}" in first
    second = browser.client.get(f"/account/following?after={initiatives[1].id}").get_data(as_text=True)
    assert initiatives[2].title_en in second


# --- The digest -------------------------------------------------------------------------------


def test_the_task_runs_on_mondays_at_nine_in_hong_kong():
    # huey's consumer asks with the time in UTC, naive (huey's default, utc=True).
    runs_at = digest.weekly_digest.task_class().validate_datetime
    assert runs_at(datetime(2026, 12, 7, 1, 0, tzinfo=UTC).replace(tzinfo=None))  # a Monday, 09:00 in Hong Kong
    assert not runs_at(datetime(2026, 12, 8, 1, 0, tzinfo=UTC).replace(tzinfo=None))  # a Tuesday
    assert not runs_at(datetime(2026, 12, 7, 9, 0, tzinfo=UTC).replace(tzinfo=None))


def test_the_digest_lists_new_views_masked_and_is_not_sent_twice(app, queued, mail_server, moderator):
    resident = _verified_resident(email="follower@example.org")
    initiative = factories.initiative()
    _follow(resident, initiative)
    sub = _published(moderator, PHONE_VIEW, initiative)
    _view("Still waiting for a moderator, so not public: " + factories.TRANSPORT_VIEW, initiative)
    now = _later()
    assert digest.send_digests(now) == 1
    [message] = mail_server.to("follower@example.org")
    assert message["Subject"] == "New on the initiatives you follow"
    text, html = message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content()
    for body in (text, html):
        assert sub.reference in body and initiative.title_en in body
        assert "[PHONE]" in body and "9123 4567" not in body
        assert "Still waiting for a moderator" not in body
        assert f"/views/{sub.reference}" in body and "/account/following" in body
    assert message["List-Unsubscribe"]
    db.session.refresh(resident)
    assert resident.digest_sent_until == now
    [row] = _digests()
    assert row.user_id == resident.id and row.context["views"] == [sub.id]
    # Run again, at the same moment or later: nothing new, nothing written.
    assert digest.send_digests(now) == 0
    assert digest.send_digests(_later(60)) == 0
    assert len(_digests()) == 1 and len(mail_server.to("follower@example.org")) == 1


def test_nothing_new_means_no_message_and_nothing_written(app, queued, mail_server, moderator):
    resident = _verified_resident()
    followed, other = db.session.execute(select(Initiative).order_by(Initiative.id).limit(2)).scalars()
    _follow(resident, followed)
    _published(moderator, initiative=other)  # not followed
    assert digest.send_digests(_later()) == 0
    assert _digests() == []
    db.session.refresh(resident)
    assert resident.digest_sent_until is None


def test_a_view_published_before_the_follow_began_is_not_news(app, queued, mail_server, moderator):
    initiative = factories.initiative()
    _published(moderator, initiative=initiative)
    resident = _verified_resident()
    _follow(resident, initiative)
    assert digest.send_digests(_later()) == 0


def test_a_new_answer_comes_in_the_next_digest(app, queued, mail_server, moderator, officer):
    resident = _verified_resident(email="follower@example.org")
    initiative = factories.initiative()
    _follow(resident, initiative)
    sub = _published(moderator, initiative=initiative)
    assert digest.send_digests(_later()) == 1
    bureau.answer(officer, sub.id, bureau.AnswerText("More buses will run on route 960; call 9876 5432.", None))
    assert digest.send_digests(_later()) == 1
    latest = mail_server.to("follower@example.org")[-1]
    text = latest.get_body(("plain",)).get_content()
    assert f"New answer to view {sub.reference}" in text and "More buses will run on route 960" in text
    assert "9876 5432" not in text
    assert [row.context["answered"] for row in _digests()] == [[], [sub.id]]


def test_who_gets_no_digest(app, queued, mail_server, moderator):
    initiative = factories.initiative()
    unverified = _unverified_resident()
    deleted = _verified_resident()
    unsubscribed = _verified_resident(email="gone@example.org")
    for user in (unverified, deleted, unsubscribed):
        _follow(user, initiative)
    db.session.execute(update(User).where(User.id == deleted.id).values(deleted_at=datetime.now(UTC)))
    db.session.add(MailSuppression(address_hash=outbox.address_hash("gone@example.org")))
    db.session.commit()
    _published(moderator, initiative=initiative)
    assert digest.send_digests(_later()) == 0
    assert _digests() == []


def test_the_digest_is_in_the_accounts_language(app, queued, mail_server, moderator):
    resident = _verified_resident(email="zh@example.org", locale="zh_Hant")
    initiative = factories.initiative()
    _follow(resident, initiative)
    _published(moderator, PHONE_VIEW, initiative)
    assert digest.send_digests(_later()) == 1
    [message] = mail_server.to("zh@example.org")
    assert message["Content-Language"] == "zh-Hant-HK"
    text = message.get_body(("plain",)).get_content()
    assert initiative.title_zh in text and "9123 4567" not in text


def test_a_digest_lists_the_newest_views_and_counts_the_rest(app, queued, mail_server, moderator):
    resident = _verified_resident(email="follower@example.org")
    initiative = factories.initiative()
    _follow(resident, initiative)
    subs = [_published(moderator, f"{factories.TRANSPORT_VIEW} Number {i}.", initiative) for i in range(4)]
    original = digest.MAX_LISTED
    digest.MAX_LISTED = 3
    try:
        assert digest.send_digests(_later()) == 1
    finally:
        digest.MAX_LISTED = original
    [row] = _digests()
    assert row.context["views"] == [s.id for s in reversed(subs)][:3] and row.context["more"] == 1
    text = mail_server.to("follower@example.org")[0].get_body(("plain",)).get_content()
    assert "And 1 more" in text


@pytest.mark.parametrize(
    "target", ["//evil.example/", "https://evil.example/", "/\t/evil.example", "javascript:alert(1)"]
)
def test_after_following_only_a_page_of_this_site_is_returned_to(browser, login_as, target):
    login_as(_verified_resident())
    initiative = factories.initiative()
    page = browser.client.get(f"/initiatives/{initiative.code}").get_data(as_text=True)
    response = browser.client.post(
        f"/initiatives/{initiative.code}/follow", data={"csrf_token": csrf_token(page), "next": target}
    )
    assert response.status_code == 302 and response.headers["Location"] == f"/initiatives/{initiative.code}"


def test_a_visitors_initiative_page_carries_no_form_token(client):
    # It stays the same page for every visitor (a shared cache may keep it): no button, no token.
    initiative = factories.initiative()
    page = client.get(f"/initiatives/{initiative.code}").get_data(as_text=True)
    assert "csrf_token" not in page


def test_a_campaign_is_listed_once(app, queued, mail_server, moderator):
    app.config["CAMPAIGNS"] = True
    resident = _verified_resident(email="follower@example.org")
    initiative = factories.initiative()
    _follow(resident, initiative)
    copies = [_published(moderator, factories.TRANSPORT_VIEW, initiative) for _ in range(3)]
    assert len({c.campaign_id for c in copies}) == 1 and copies[0].campaign_id is not None
    assert digest.send_digests(_later()) == 1
    [row] = _digests()
    assert row.context["views"] == [copies[-1].id]  # the newest copy stands for the campaign
