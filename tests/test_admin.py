"""The administrators' account pages: list, create, change role, password, activation."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from feedback_app.auth import services as accounts
from feedback_app.extensions import db
from feedback_app.kernel.models import AuditEvent, Role, User

from . import factories
from .conftest import Browser, RequestIsolatedClient

NEW_PASSWORD = "a-new-long-password"
ENROLMENT_LINK_RE = re.compile(r'id="enrolment-link">([^<]+)<')


@pytest.fixture
def admin(app):
    return factories.user(Role.ADMIN, email="chief.admin@example.org")


@pytest.fixture
def as_admin(admin, login_as, browser):
    login_as(admin)
    return browser


def reloaded(user: User) -> User:
    db.session.expire_all()
    return db.session.get(User, user.id)


def audit_of(user: User) -> list[AuditEvent]:
    return list(
        db.session.execute(
            select(AuditEvent).where(AuditEvent.target_user_id == user.id).order_by(AuditEvent.id)
        ).scalars()
    )


def text(response) -> str:
    return response.get_data(as_text=True)


def account_url(user: User) -> str:
    return f"/admin/users/{user.id}"


# --- who may come in ---------------------------------------------------------------------------


def test_only_administrators_reach_the_account_pages(app, client, login_as, moderator, admin):
    assert client.get("/admin/users").status_code == 302  # to sign-in
    login_as(moderator)
    assert client.get("/admin/users").status_code == 403
    assert client.get(account_url(admin)).status_code == 403
    assert "Administration" not in text(client.get("/"))


def test_the_navigation_shows_administration_to_administrators(app, as_admin):
    home = text(as_admin.client.get("/"))
    assert 'href="/admin/users">Administration</a>' in home


def test_account_pages_are_never_cached(app, as_admin, moderator):
    for url in ("/admin/users", "/admin/users/new", account_url(moderator)):
        assert as_admin.client.get(url).headers["Cache-Control"] == "no-store", url


def test_an_unknown_or_absurd_account_id_is_a_404(app, as_admin):
    assert as_admin.client.get("/admin/users/999999").status_code == 404
    assert as_admin.client.get("/admin/users/99999999999999999999").status_code == 404


# --- the list ----------------------------------------------------------------------------------


def test_the_list_shows_names_not_codes_and_filters(app, as_admin):
    factories.user(Role.OFFICER, bureau="HB", email="housing.officer@example.org")
    factories.user(Role.MODERATOR, email="moderator.one@example.org")
    gone = factories.user(Role.MODERATOR, email="gone.moderator@example.org")
    accounts.set_active(gone.id, False)

    page = text(as_admin.client.get("/admin/users"))
    assert "housing.officer@example.org" in page and "Housing Bureau" in page
    assert "bureau officer" in page and "administrator" in page
    assert "Deactivated" in page

    found = text(as_admin.client.get("/admin/users?q=HOUSING"))
    assert "housing.officer@example.org" in found and "moderator.one@example.org" not in found
    moderators = text(as_admin.client.get("/admin/users?role=moderator"))
    assert "moderator.one@example.org" in moderators and "housing.officer" not in moderators
    inactive = text(as_admin.client.get("/admin/users?active=0"))
    assert "gone.moderator@example.org" in inactive and "moderator.one@example.org" not in inactive
    # Wildcards are typed text, not patterns.
    assert "No account matches these filters." in text(as_admin.client.get("/admin/users?q=%25"))
    # Nonsense filters are ignored rather than failing; a broken page link is a 400 as everywhere.
    assert as_admin.client.get("/admin/users?role=king&active=maybe").status_code == 200
    assert as_admin.client.get("/admin/users?after=abc").status_code == 400


def test_the_list_is_paginated(app, as_admin):
    app.config["PAGE_SIZE"] = 2
    for n in range(4):
        factories.user(Role.RESIDENT, email=f"resident{n}@example.org")
    first = text(as_admin.client.get("/admin/users"))
    assert "chief.admin@example.org" in first and "resident0@example.org" in first
    assert "resident1@example.org" not in first
    next_url = re.search(r'href="([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    second = text(as_admin.client.get(next_url))
    assert "resident1@example.org" in second and "resident2@example.org" in second
    assert "chief.admin@example.org" not in second


# --- creating -----------------------------------------------------------------------------------


def test_an_administrator_creates_a_staff_account(app, as_admin, admin):
    response = as_admin.submit_form(
        "/admin/users/new",
        {
            "email": "New.Officer@Example.org",
            "display_name": "Chan Tai Man",
            "role": "officer",
            "bureau": "TLB",
            "password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
        },
    )
    assert response.status_code == 200
    assert "The account for new.officer@example.org is created." in text(response)
    user = accounts.find_by_email("new.officer@example.org")
    assert (user.role, user.bureau_code, user.display_name) == ("officer", "TLB", "Chan Tai Man")
    assert user.check_password(NEW_PASSWORD)
    created, issued = audit_of(user)
    assert (created.action, created.actor_id, created.after) == (
        "account_created",
        admin.id,
        {"role": "officer", "bureau": "TLB"},
    )
    assert (issued.action, issued.actor_id) == ("enrolment_link_issued", admin.id)
    # The enrolment link, shown once to pass on with the password: the officer enrols through it.
    assert response.headers["Cache-Control"] == "no-store"
    link = ENROLMENT_LINK_RE.search(text(response)).group(1)
    assert link.startswith("http://localhost/account/enrol/")
    assert link not in text(as_admin.client.get(account_url(user)))
    theirs = second_browser(app)
    theirs.submit_form(link, {"password": NEW_PASSWORD})
    assert theirs.enrol_two_factor(link.removeprefix("http://localhost") + "/authenticator").status_code == 200
    assert theirs.client.get("/bureau/").status_code == 200


def test_creating_with_mistakes_shows_them_and_keeps_what_was_typed(app, as_admin):
    response = as_admin.submit_form(
        "/admin/users/new",
        {
            "email": "someone@localhost",
            "display_name": "Someone Typed This",
            "role": "moderator",
            "bureau": "",
            "password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
        },
    )
    assert response.status_code == 400
    page = text(response)
    assert "is not a valid e-mail address." in page
    assert 'value="someone@localhost"' in page and 'value="Someone Typed This"' in page
    assert db.session.execute(select(User).where(User.email == "someone@localhost")).first() is None

    for data, message in [
        ({"role": "officer", "bureau": "", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, "needs a valid bureau"),
        ({"role": "moderator", "password": "short", "confirm": "short"}, "at least 10 characters"),
        (
            {"role": "moderator", "password": NEW_PASSWORD, "confirm": "different-123"},
            "The two passwords are not the same.",
        ),
        ({"role": "moderator"}, "Type a password, or choose to generate one."),
        ({"role": "emperor", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, "Not a valid choice"),
    ]:
        response = as_admin.submit_form("/admin/users/new", {"email": "valid@example.org", "bureau": "", **data})
        assert response.status_code == 400, message
        assert message in text(response), message
    assert accounts.find_by_email("valid@example.org") is None


def test_a_generated_password_is_shown_once_and_works(app, as_admin, client):
    response = as_admin.submit_form(
        "/admin/users/new",
        {
            "email": "mod@example.org",
            "role": "moderator",
            "bureau": "",
            "generate_password": "y",
        },
    )
    assert response.status_code == 200
    password = re.search(r'id="generated-password">([^<]+)<', text(response)).group(1)
    assert len(password) >= 16
    assert response.headers["Cache-Control"] == "no-store"
    assert accounts.find_by_email("mod@example.org").check_password(password)
    assert ENROLMENT_LINK_RE.search(text(response))  # with its enrolment link


def test_a_resident_account_gets_no_enrolment_link(app, as_admin):
    response = as_admin.submit_form(
        "/admin/users/new",
        {
            "email": "someone@example.org",
            "role": "resident",
            "bureau": "",
            "password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
        },
    )
    assert response.status_code == 200 and "The account for someone@example.org is created." in text(response)
    assert not ENROLMENT_LINK_RE.search(text(response))


# --- changing ----------------------------------------------------------------------------------


def second_browser(app) -> Browser:
    app.test_client_class = RequestIsolatedClient
    return Browser(app.test_client())


def test_changing_a_role_signs_the_person_out_and_shows_in_the_history(app, as_admin, admin, moderator):
    theirs = second_browser(app)
    theirs.login(moderator.email)
    assert theirs.client.get("/moderation/queue").status_code == 200

    response = as_admin.submit_form(
        account_url(moderator), {"role": "officer", "bureau": "HB"}, action=f"/admin/users/{moderator.id}/role"
    )
    assert response.status_code == 200
    assert "The role is changed." in text(response)
    user = reloaded(moderator)
    assert (user.role, user.bureau_code) == ("officer", "HB")
    assert theirs.client.get("/moderation/queue").status_code == 302  # signed out

    event = audit_of(user)[-1]
    assert (event.action, event.actor_id) == ("role_changed", admin.id)
    assert event.before == {"role": "moderator", "bureau": None}
    page = text(as_admin.client.get(account_url(user)))
    assert "Role changed" in page and "moderator → bureau officer" in page and "— → Housing Bureau" in page


def test_an_officer_without_a_bureau_is_refused_with_the_choice_kept(app, as_admin, moderator):
    response = as_admin.submit_form(
        account_url(moderator), {"role": "officer", "bureau": ""}, action=f"/admin/users/{moderator.id}/role"
    )
    assert response.status_code == 400
    assert "needs a valid bureau" in text(response)
    assert re.search(r'<option selected value="officer">|<option value="officer" selected>', text(response))
    assert reloaded(moderator).role == "moderator"


def test_an_administrator_cannot_lock_themself_out(app, as_admin, admin):
    factories.user(Role.ADMIN)  # not the last admin: the self rule alone refuses
    demote = as_admin.submit_form(
        account_url(admin), {"role": "moderator", "bureau": ""}, action=f"/admin/users/{admin.id}/role"
    )
    assert demote.status_code == 400
    assert "You cannot take away your own administrator access" in text(demote)
    deactivate = as_admin.submit_form(
        account_url(admin), {"confirm": "y"}, action=f"/admin/users/{admin.id}/deactivate"
    )
    assert deactivate.status_code == 400
    assert "You cannot take away your own administrator access" in text(deactivate)
    admin = reloaded(admin)
    assert (admin.role, admin.active) == ("admin", True)
    assert as_admin.client.get("/admin/users").status_code == 200  # still signed in


def test_setting_a_password_needs_it_twice_and_is_audited_without_it(app, as_admin, admin, moderator):
    url = f"/admin/users/{moderator.id}/password"
    mismatch = as_admin.submit_form(
        account_url(moderator), {"password": NEW_PASSWORD, "confirm": "other-password-1"}, action=url
    )
    assert mismatch.status_code == 400 and "The two passwords are not the same." in text(mismatch)
    short = as_admin.submit_form(account_url(moderator), {"password": "short", "confirm": "short"}, action=url)
    assert short.status_code == 400 and "at least 10 characters" in text(short)
    assert reloaded(moderator).check_password(factories.PASSWORD)

    done = as_admin.submit_form(account_url(moderator), {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, action=url)
    assert done.status_code == 200 and "The new password is set" in text(done)
    user = reloaded(moderator)
    assert user.check_password(NEW_PASSWORD)
    event = audit_of(user)[-1]
    assert (event.action, event.actor_id, event.before, event.after) == ("password_changed", admin.id, {}, {})
    assert "New password set" in text(as_admin.client.get(account_url(user)))


def test_generating_a_new_password_shows_it_once(app, as_admin, moderator):
    response = as_admin.submit_form(account_url(moderator), {}, action=f"/admin/users/{moderator.id}/password/generate")
    password = re.search(r'id="generated-password">([^<]+)<', text(response)).group(1)
    assert reloaded(moderator).check_password(password)
    assert password not in text(as_admin.client.get(account_url(moderator)))


def test_deactivating_needs_confirmation_then_signs_out_and_reactivates(app, as_admin, admin, moderator):
    theirs = second_browser(app)
    theirs.login(moderator.email)
    url = f"/admin/users/{moderator.id}/deactivate"

    unconfirmed = as_admin.submit_form(account_url(moderator), {}, action=url)
    assert unconfirmed.status_code == 400 and "Tick the box to confirm." in text(unconfirmed)
    assert reloaded(moderator).active

    done = as_admin.submit_form(account_url(moderator), {"confirm": "y"}, action=url)
    assert done.status_code == 200 and "The account is deactivated" in text(done)
    assert not reloaded(moderator).active
    assert theirs.client.get("/moderation/queue").status_code == 302
    assert "Reactivate this account" in text(done)

    again = as_admin.submit_form(account_url(moderator), {}, action=f"/admin/users/{moderator.id}/reactivate")
    assert "The account is active again" in text(again)
    user = reloaded(moderator)
    assert user.active
    assert [(e.action, e.actor_id) for e in audit_of(user) if e.action.startswith("account_")] == [
        ("account_created", None),
        ("account_deactivated", admin.id),
        ("account_reactivated", admin.id),
    ]
    page = text(as_admin.client.get(account_url(user)))
    assert "Account deactivated" in page and "Account reactivated" in page and "chief.admin" in page


def test_a_form_without_its_token_changes_nothing(app, as_admin, moderator):
    response = as_admin.client.post(f"/admin/users/{moderator.id}/deactivate", data={"confirm": "y"})
    assert response.status_code == 400
    assert reloaded(moderator).active


def test_an_administrator_resets_two_step_sign_in_and_hands_over_a_new_link(app, as_admin, admin, moderator):
    theirs = second_browser(app)
    theirs.login(moderator.email)  # enrols two-factor through a first link
    assert reloaded(moderator).totp_secret
    url = f"/admin/users/{moderator.id}/two-factor/reset"
    unconfirmed = as_admin.submit_form(account_url(moderator), {}, action=url)
    assert unconfirmed.status_code == 400
    done = as_admin.submit_form(account_url(moderator), {"confirm": "y"}, action=url)
    assert "Two-step sign-in is reset" in text(done)
    assert not reloaded(moderator).totp_secret
    assert [(e.action, e.actor_id) for e in audit_of(moderator)[-2:]] == [
        ("two_factor_reset", admin.id),
        ("enrolment_link_issued", admin.id),
    ]
    link = ENROLMENT_LINK_RE.search(text(done)).group(1).removeprefix("http://localhost")
    theirs.submit_form(link, {"password": factories.PASSWORD})
    theirs.enrol_two_factor(link + "/authenticator")
    assert theirs.client.get("/moderation/queue").status_code == 200
    page = text(as_admin.client.get(account_url(moderator)))
    assert "Enrolment link issued" in page and "Enrolment link used to set up two-step sign-in" in page


def test_an_administrator_issues_a_new_enrolment_link_that_replaces_the_old(app, as_admin, admin):
    moderator = factories.user(Role.MODERATOR)
    first = accounts.issue_enrolment_link(moderator.id)
    page = text(as_admin.client.get(account_url(moderator)))
    assert "Issued, not used yet" in page and "Issue a new enrolment link" in page
    done = as_admin.submit_form(account_url(moderator), {}, action=f"/admin/users/{moderator.id}/enrolment-link")
    assert done.status_code == 200 and "any older one no longer works" in text(done)
    link = ENROLMENT_LINK_RE.search(text(done)).group(1).removeprefix("http://localhost")
    assert second_browser(app).client.get(f"/account/enrol/{first.token}").status_code == 410
    assert second_browser(app).client.get(link).status_code == 200
    # An account with an authenticator needs a reset first: the form is not offered, and refused.
    enrolled = factories.user(Role.MODERATOR)
    second_browser(app).login(enrolled.email)
    assert "Issue a new enrolment link" not in text(as_admin.client.get(account_url(enrolled)))
    refused = as_admin.submit_form(account_url(enrolled), {}, action=f"/admin/users/{enrolled.id}/enrolment-link")
    assert refused.status_code == 400 and "reset its two-step sign-in" in text(refused)
