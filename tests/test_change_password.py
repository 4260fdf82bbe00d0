"""Everyone who signs in changes their own password: the current one first, the new one twice
under the account rules; every other session ends and this one carries on; two-step sign-in stays."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from feedback_app.extensions import db
from feedback_app.kernel.models import AuditAction, AuditEvent, Role, User

from . import factories
from .conftest import Browser, RequestIsolatedClient, csrf_token, make_app

NEW = "a-brand-new-password-2026"


def _change(browser, current=factories.PASSWORD, new=NEW, again=None):
    return browser.submit_form(
        "/account/password", {"current_password": current, "password": new, "password_again": again or new}
    )


def _fresh(user) -> User:
    return db.session.execute(
        select(User).where(User.id == user.id).execution_options(populate_existing=True)
    ).scalar_one()


@pytest.mark.parametrize("role, page", [(Role.RESIDENT, "/account/"), (Role.OFFICER, "/bureau/")])
def test_changing_the_password_ends_every_other_session_and_keeps_this_one(app, client, role, page):
    user = factories.user(role, bureau="TLB" if role == Role.OFFICER else None)
    here, elsewhere = Browser(client), Browser(app.test_client())
    here.login(user.email)
    elsewhere.login(user.email)
    assert elsewhere.client.get(page).status_code == 200
    two_factor_before = _fresh(user).totp_secret

    response = _change(here)
    assert response.status_code == 200 and "Your password is changed" in response.get_data(as_text=True)
    assert response.request.path == "/account/"
    # This browser carries on; the other one's cookie is refused.
    assert here.client.get(page).status_code == 200
    assert elsewhere.client.get(page).status_code == 302
    changed = _fresh(user)
    assert changed.check_password(NEW) and not changed.check_password(factories.PASSWORD)
    assert changed.totp_secret == two_factor_before  # staff keep their two-step sign-in
    [event] = db.session.execute(
        select(AuditEvent).where(
            AuditEvent.action == AuditAction.PASSWORD_CHANGED, AuditEvent.target_user_id == user.id
        )
    ).scalars()
    assert event.actor_id == user.id and event.before == {} and event.after == {}
    # Signing in again takes the new password (and, for staff, still a code).
    again = Browser(app.test_client())
    assert again.login(user.email, factories.PASSWORD).status_code == 400
    signed_in = again.login(user.email, NEW)
    assert signed_in.status_code == 200 and again.client.get(page).status_code == 200


def test_the_remembered_sign_in_of_this_browser_stays_too(app, client, resident):
    browser = Browser(client)
    browser.submit_form("/account/login", {"email": resident.email, "password": factories.PASSWORD, "remember": "y"})
    _change(browser)
    client.delete_cookie("session")  # the browser was closed: only the "keep me signed in" cookie is left
    assert client.get("/account/").status_code == 200


@pytest.mark.parametrize(
    "current, new, again, field, problem",
    [
        ("not-my-password", NEW, NEW, "current_password", "That password is not right."),
        (factories.PASSWORD, "short", "short", "password", "at least 10 characters"),
        (factories.PASSWORD, NEW, NEW + "x", "password_again", "not the same"),
        (factories.PASSWORD, factories.PASSWORD, factories.PASSWORD, "password", "the same as the current one"),
    ],
)
def test_a_refused_change_says_why_and_changes_nothing(browser, resident, current, new, again, field, problem):
    browser.login(resident.email)
    response = _change(browser, current, new, again)
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and problem in html and f'href="#{field}"' in html
    assert _fresh(resident).check_password(factories.PASSWORD)
    assert browser.client.get("/account/").status_code == 200  # still signed in
    assert not db.session.execute(select(AuditEvent).where(AuditEvent.action == AuditAction.PASSWORD_CHANGED)).first()


def test_the_page_needs_a_sign_in_and_the_account_menu_links_it(client, browser, moderator):
    assert client.get("/account/password").status_code == 302
    browser.login(moderator.email)
    assert 'href="/account/password"' in browser.client.get("/moderation/queue").get_data(as_text=True)
    page = browser.client.get("/account/password")
    assert page.status_code == 200 and "Two-step sign-in stays on." in page.get_data(as_text=True)


def test_wrong_current_passwords_are_throttled_per_account(app, resident):
    limited = make_app(
        app.config["SQLALCHEMY_DATABASE_URI"], RATELIMIT_ENABLED=True, LOGIN_ACCOUNT_RATE_LIMIT="2 per 15 minutes"
    )
    limited.test_client_class = RequestIsolatedClient
    browser = Browser(limited.test_client())
    browser.login(resident.email)
    for _ in range(2):
        assert _change(browser, current="not-my-password").status_code == 400
    page = browser.client.get("/account/password")
    refused = browser.client.post(
        "/account/password",
        data={
            "csrf_token": csrf_token(page.get_data(as_text=True)),
            "current_password": factories.PASSWORD,
            "password": NEW,
            "password_again": NEW,
        },
    )
    assert refused.status_code == 429
    assert _fresh(resident).check_password(factories.PASSWORD)
