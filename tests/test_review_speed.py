"""Working through the queue at speed: the next view after a decision, and the shortcuts listed."""

import re

from sqlalchemy import select

from feedback_app.extensions import db
from feedback_app.kernel.models import Role, Status, Submission

from . import factories
from .conftest import csrf_token


def _queue(app, count):
    app.config["ROUTING_BUREAU_THRESHOLD"] = 1.01  # everything waits for a moderator
    return [factories.submission(f"{factories.TRANSPORT_VIEW} ({n})") for n in range(count)]


def test_route_then_next_opens_the_next_view_and_the_last_one_leads_back_to_the_queue(app, client, login_as):
    first, second = _queue(app, 2)
    login_as(factories.user(Role.MODERATOR))
    page = client.get(f"/moderation/submissions/{first.id}").get_data(as_text=True)
    assert f'href="/moderation/submissions/{second.id}"' in page  # "Next view waiting for review"
    answer = client.post(
        f"/moderation/submissions/{first.id}/route",
        data={
            "csrf_token": csrf_token(page),
            "version": first.version,
            "area": "mobility",
            "bureau": "TLB",
            "submit_next": "Route, then open the next view",
        },
    )
    assert answer.status_code == 302 and answer.headers["Location"].endswith(f"/moderation/submissions/{second.id}")
    assert db.session.get(Submission, first.id).status == Status.ROUTED
    page = client.get(f"/moderation/submissions/{second.id}").get_data(as_text=True)
    answer = client.post(
        f"/moderation/submissions/{second.id}/reject",
        follow_redirects=True,
        data={
            "csrf_token": csrf_token(page),
            "version": second.version,
            "reason": "duplicate",
            "submit_next": "Reject, then open the next view",
        },
    )
    assert answer.request.path == "/moderation/queue"
    assert "That was the last view waiting for review." in answer.get_data(as_text=True)


def test_the_plain_buttons_keep_the_moderator_on_the_view(app, client, login_as):
    first, _ = _queue(app, 2)
    login_as(factories.user(Role.MODERATOR))
    page = client.get(f"/moderation/submissions/{first.id}").get_data(as_text=True)
    answer = client.post(
        f"/moderation/submissions/{first.id}/route",
        data={
            "csrf_token": csrf_token(page),
            "version": first.version,
            "area": "mobility",
            "bureau": "TLB",
            "submit": "Route to this bureau",
        },
    )
    assert answer.headers["Location"].endswith(f"/moderation/submissions/{first.id}")


def test_the_shortcuts_listed_are_the_decisions_the_view_allows(app, client, login_as):
    moderator = factories.user(Role.MODERATOR)
    waiting, _ = _queue(app, 2)
    login_as(moderator)
    page = client.get(f"/moderation/submissions/{waiting.id}").get_data(as_text=True)
    keys = re.findall(r"<dt><kbd>(\w)</kbd></dt><dd data-target=\"([^\"]+)\"", page)
    assert [k for k, _ in keys] == ["a", "x", "p", "n", "q"]
    assert "shortcuts.js" in page
    from feedback_app.moderation import services as moderation

    moderation.reject(waiting.id, reason="spam", note=None, actor=moderator, version=waiting.version)
    page = client.get(f"/moderation/submissions/{waiting.id}").get_data(as_text=True)
    assert [k for k in re.findall(r"<dt><kbd>(\w)</kbd></dt>", page)] == ["n", "q"]  # nothing to route now
    rejected = db.session.execute(select(Submission).where(Submission.id == waiting.id)).scalar_one()
    assert rejected.status == Status.REJECTED


def test_a_view_open_by_one_moderator_shows_who_holds_it_to_another(app, client, browser, login_as):
    from feedback_app.kernel.models import User

    first_moderator = factories.user(Role.MODERATOR)
    second_moderator = factories.user(Role.MODERATOR)
    view, _ = _queue(app, 2)
    version_before = view.version
    login_as(first_moderator)
    client.get(f"/moderation/submissions/{view.id}")
    db.session.expire_all()
    held = db.session.get(Submission, view.id)
    assert held.held_by_id == first_moderator.id and held.version == version_before  # opening changes nothing
    browser.logout()
    login_as(second_moderator)
    name = db.session.get(User, first_moderator.id).display_name
    page = client.get(f"/moderation/submissions/{view.id}").get_data(as_text=True)
    assert f"{name} opened this view" in page
    assert f"Open by {name}" in client.get("/moderation/queue").get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Submission, view.id).held_by_id == first_moderator.id  # the hold is not taken over
    # The first moderator decides and moves on to the next view: the hold ends.
    browser.logout()
    login_as(first_moderator)
    page = client.get(f"/moderation/submissions/{view.id}").get_data(as_text=True)
    client.post(
        f"/moderation/submissions/{view.id}/route",
        data={
            "csrf_token": csrf_token(page),
            "version": view.version,
            "area": "mobility",
            "bureau": "TLB",
            "submit_next": "Route, then open the next view",
        },
    )
    db.session.expire_all()
    assert db.session.get(Submission, view.id).held_by_id is None


def test_of_two_moderators_opening_a_view_at_once_one_holds_it_and_the_other_is_told(app):
    from feedback_app.moderation import services as moderation

    first, second = factories.user(Role.MODERATOR), factories.user(Role.MODERATOR)
    [view] = _queue(app, 1)
    # Both loaded the view before either's hold was written: each saw it free.
    seen_by_first = db.session.get(Submission, view.id)
    db.session.expunge(seen_by_first)
    seen_by_second = db.session.get(Submission, view.id)
    db.session.expunge(seen_by_second)
    assert moderation.hold(seen_by_first, first) is None
    assert moderation.hold(seen_by_second, second).id == first.id
    db.session.expire_all()
    held = db.session.get(Submission, view.id)
    assert held.held_by_id == first.id
    # The second's page says since when, as stored (its copy of the view had no hold).
    assert held.held_at is not None and seen_by_second.held_at == held.held_at
    # Reloading the page within a couple of minutes writes nothing: the hold's time stays.
    moment = held.held_at
    assert moderation.hold(held, first) is None
    db.session.expire_all()
    assert db.session.get(Submission, view.id).held_at == moment
