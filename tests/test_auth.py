"""Signing in and out; a cookie from before sign-out is refused on the server side."""
import pytest

from feedback_app.auth import services as accounts
from feedback_app.models import Role


def test_wrong_password_is_refused_with_a_message(app, browser, moderator):
    response = browser.login(moderator.email, "wrong-password-123")
    assert response.status_code == 400
    assert "The e-mail address or password is not right." in response.get_data(as_text=True)
    assert browser.client.get("/moderation/queue").status_code == 302


def test_replayed_cookie_after_logout_is_refused(app, browser, moderator):
    browser.login(moderator.email)
    assert browser.client.get("/moderation/queue").status_code == 200
    stolen = browser.client.get_cookie("session").value
    browser.logout()
    assert browser.client.get("/moderation/queue").status_code == 302
    # Someone replays the cookie captured before the sign-out: it no longer opens anything.
    browser.client.set_cookie("session", stolen)
    assert browser.client.get("/moderation/queue").status_code == 302


CHANGES = {
    "password": lambda user: accounts.change_password(user.id, "a-brand-new-password"),
    "role": lambda user: accounts.change_role(user.id, Role.RESIDENT),
    "deactivation": lambda user: accounts.set_active(user.id, False),
}


@pytest.mark.parametrize("change", CHANGES)
def test_account_changes_end_existing_sessions(app, browser, moderator, change):
    browser.login(moderator.email)
    assert browser.client.get("/moderation/queue").status_code == 200
    CHANGES[change](moderator)
    assert browser.client.get("/moderation/queue").status_code == 302


def test_login_redirects_only_to_this_site(app, browser, moderator):
    page = browser.client.get("/account/login?next=https://evil.example/")
    from .conftest import csrf_token

    response = browser.client.post(
        "/account/login?next=https://evil.example/",
        data={"csrf_token": csrf_token(page.get_data(as_text=True)), "email": moderator.email, "password": "correct-horse-battery"},
    )
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/moderation")
