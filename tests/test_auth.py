"""Signing in and out: sessions, safe redirects, throttling, demo accounts, cookies, CSRF."""

import re
import uuid
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import pytest

from feedback_app.auth import demo_accounts
from feedback_app.auth import services as accounts
from feedback_app.kernel.models import Role
from feedback_app.web.urls import safe_next

from . import factories
from .conftest import Browser, RequestIsolatedClient, csrf_token, make_app

WRONG = "The e-mail address or password is not right."
THROTTLED = "Too many unsuccessful attempts to sign in"
CSRF_VALUE = re.compile(r'(?<=name="csrf_token" )[^>]*|(?<=name="csrf_token" type="hidden" )[^>]*')


def _post_login(client, email, password=factories.PASSWORD, *, query="", **extra):
    page = client.get("/account/login" + query)
    data = {"csrf_token": csrf_token(page.get_data(as_text=True)), "email": email, "password": password, **extra}
    return client.post("/account/login" + query, data=data)


def test_wrong_password_is_refused_with_a_message(app, browser, moderator):
    response = browser.login(moderator.email, "wrong-password-123")
    assert response.status_code == 400
    assert WRONG in response.get_data(as_text=True)
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


# --- Safe redirects -------------------------------------------------------------------------

UNSAFE_TARGETS = [
    "/\t/evil.example",  # what /%09/evil.example decodes to; browsers drop the tab
    "/\n/evil.example",
    "\t//evil.example",
    "/\\evil.example",  # browsers read a backslash as a slash
    "\\\\evil.example",
    "//evil.example",
    "///evil.example",
    "https://evil.example/",
    "http:evil.example",
    "javascript:alert(1)",
    " javascript:alert(1)",
    "\n",
    "/\n",
    "/\r\nSet-Cookie: x=1",
    "/\x00",
    "evil.example",
    "",
    None,
]


@pytest.mark.parametrize("target", UNSAFE_TARGETS)
def test_unsafe_next_targets_are_refused(target):
    assert safe_next(target) is None


@pytest.mark.parametrize(
    "target",
    [
        "/",
        "/moderation/queue",
        "/areas/mobility?after=20&q=bus%20stop",
        "/track/SCF-2026-000001/abc#answer",
        "/%09/evil.example",  # a percent-encoded tab is part of the path; browsers do not drop it
    ],
)
def test_paths_on_this_site_are_kept(target):
    assert safe_next(target) == target


@pytest.mark.parametrize(
    "query",
    [
        "/%09/evil.example",
        "/%5Cevil.example",
        "%0a",
        "/%0a",
        "/%0d%0aX:1",
        "https://evil.example",
        "//evil.example",
        "javascript:alert(1)",
    ],
)
def test_language_switch_never_leaves_the_site(client, query):
    response = client.get(f"/language/en?next={query}")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_language_switch_returns_to_the_page_with_its_query(client):
    response = client.get("/language/zh_Hant?next=/areas/mobility%3Fafter%3D20")
    assert response.headers["Location"] == "/areas/mobility?after=20"


@pytest.mark.parametrize(
    "query", ["?next=/%09/evil.example", "?next=https://evil.example/", "?next=%0a", "?next=/%5C/evil.example"]
)
def test_sign_in_redirects_only_to_this_site(app, client, query):
    resident = factories.user(Role.RESIDENT)
    response = _post_login(client, resident.email, query=query)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_sign_in_returns_to_the_page_asked_for(app, client):
    resident = factories.user(Role.RESIDENT)
    response = _post_login(client, resident.email, query="?next=/areas/mobility%3Fafter%3D20")
    assert response.headers["Location"] == "/areas/mobility?after=20"


# --- Demo accounts --------------------------------------------------------------------------


def test_demo_account_cannot_sign_in_when_demo_accounts_are_off(app, client):
    factories.user(Role.ADMIN, email="admin@demo.scf.hk")
    app.config["ALLOW_DEMO_ACCOUNTS"] = False
    response = _post_login(client, "Admin@Demo.scf.hk")
    assert response.status_code == 400
    assert WRONG in response.get_data(as_text=True)  # exactly as a wrong password
    assert client.get("/moderation/queue").status_code == 302


def test_demo_account_signs_in_where_demo_accounts_are_allowed(app, browser):
    factories.user(Role.RESIDENT, email="resident@demo.scf.hk")
    app.config["ALLOW_DEMO_ACCOUNTS"] = True
    response = browser.login("resident@demo.scf.hk")
    assert response.status_code == 200 and "You are signed in." in response.get_data(as_text=True)


# --- Same work whatever the answer ----------------------------------------------------------


def _count_hash_checks(monkeypatch):
    calls = []
    real = accounts.check_password_hash

    def counting(pwhash, password):
        calls.append(pwhash)
        return real(pwhash, password)

    monkeypatch.setattr(accounts, "check_password_hash", counting)
    return calls


@pytest.mark.parametrize(
    "case", ["unknown e-mail", "wrong password", "right password", "deactivated", "refused demo account"]
)
def test_every_sign_in_path_checks_exactly_one_password_hash(app, monkeypatch, case):
    user = factories.user(Role.MODERATOR)
    demo = factories.user(Role.MODERATOR, email="moderator@demo.scf.hk")
    accounts.set_active(factories.user(Role.RESIDENT, email="gone@example.org").id, False)
    email, password, expected = {
        "unknown e-mail": ("nobody@example.org", factories.PASSWORD, None),
        "wrong password": (user.email, "not-the-password", None),
        "right password": (user.email, factories.PASSWORD, user.id),
        "deactivated": ("gone@example.org", factories.PASSWORD, None),
        "refused demo account": (demo.email, factories.PASSWORD, None),
    }[case]
    calls = _count_hash_checks(monkeypatch)
    result = accounts.authenticate(email, password, allow_demo=False)
    assert (result.id if result else None) == expected
    assert len(calls) == 1
    # The unknown address costs the same as a real one: a hash made the same way.
    assert calls[0].split("$")[0] == user.password_hash.split("$")[0]


def test_production_mode_refuses_demo_accounts_whatever_the_setting_with_the_same_work(app, monkeypatch):
    demo = factories.user(Role.MODERATOR, email="moderator@demo.scf.hk")
    assert accounts.authenticate(demo.email, factories.PASSWORD) is not None  # local, allowed
    # What create_app records when SECRET_KEY comes from the environment (tests/test_startup.py
    # builds such an app); ALLOW_DEMO_ACCOUNTS left on.
    app.config.update(ALLOW_DEMO_ACCOUNTS=True, SECRET_KEY_FROM_ENVIRONMENT=True)
    calls = _count_hash_checks(monkeypatch)
    assert accounts.authenticate(demo.email, factories.PASSWORD) is None
    assert len(calls) == 1
    assert not demo_accounts.allowed(app.config)


def test_unknown_e_mail_through_the_form_checks_a_hash_too(app, client, monkeypatch):
    calls = _count_hash_checks(monkeypatch)
    response = _post_login(client, "nobody@example.org")
    assert response.status_code == 400 and WRONG in response.get_data(as_text=True)
    assert len(calls) == 1


# --- Throttling -----------------------------------------------------------------------------


def _limited_client(app, **overrides):
    settings = {
        "RATELIMIT_ENABLED": True,
        "LOGIN_RATE_LIMIT": "100 per minute",
        "LOGIN_ACCOUNT_RATE_LIMIT": "3 per 15 minutes",
        **overrides,
    }
    limited = make_app(app.config["SQLALCHEMY_DATABASE_URI"], **settings)
    limited.test_client_class = RequestIsolatedClient
    return limited.test_client()


def test_failed_sign_ins_lock_the_account_even_with_the_right_password(app, moderator):
    client = _limited_client(app)
    for _ in range(3):
        assert _post_login(client, moderator.email, "wrong-password-1").status_code == 400
    response = _post_login(client, moderator.email)  # the right password, too late
    html = response.get_data(as_text=True)
    assert response.status_code == 429
    assert THROTTLED in html and "15 minutes" in html
    assert 'name="email"' in html  # the form again, not a bare error page
    assert client.get("/moderation/queue").status_code == 302
    # Another account from the same place is not locked by it.
    other = factories.user(Role.RESIDENT)
    assert _post_login(client, other.email).status_code == 302


def test_throttling_does_not_tell_which_addresses_have_accounts(app, moderator):
    client = _limited_client(app)
    answers = {}
    for email in (moderator.email, "nobody@example.org"):
        for _ in range(3):
            _post_login(client, email, "wrong-password-1")
        response = _post_login(client, email, "wrong-password-1")
        html = CSRF_VALUE.sub("", response.get_data(as_text=True)).replace(email, "EMAIL")
        answers[email] = (response.status_code, html)
    assert answers[moderator.email] == answers["nobody@example.org"]
    assert answers[moderator.email][0] == 429


def test_successful_sign_ins_do_not_count(app):
    client = _limited_client(app)
    resident = factories.user(Role.RESIDENT)
    browser = Browser(client)
    for _ in range(5):
        assert _post_login(client, resident.email).status_code == 302
        browser.logout()


def test_failed_sign_ins_from_one_client_are_throttled_across_accounts(app):
    client = _limited_client(app, LOGIN_RATE_LIMIT="3 per minute", LOGIN_ACCOUNT_RATE_LIMIT="100 per minute")
    for n in range(3):
        assert _post_login(client, f"guess{n}@example.org", "wrong-password-1").status_code == 400
    response = _post_login(client, "guess9@example.org", "wrong-password-1")
    assert response.status_code == 429 and THROTTLED in response.get_data(as_text=True)


def test_failed_sign_ins_are_counted_across_workers_through_redis(app, moderator, redis_url):
    import redis

    url = redis_url
    prefix = f"test-signin-{uuid.uuid4().hex}"
    # Two app objects with their own limiter state stand for two gunicorn workers.
    workers = [_limited_client(app, RATELIMIT_STORAGE_URI=url, RATELIMIT_KEY_PREFIX=prefix) for _ in range(2)]
    try:
        for n in range(3):
            assert _post_login(workers[n % 2], moderator.email, "wrong-password-1").status_code == 400
        assert _post_login(workers[1], moderator.email).status_code == 429
        assert _post_login(workers[0], moderator.email).status_code == 429
    finally:
        server = redis.Redis.from_url(url)
        for key in server.scan_iter(f"*{prefix}*"):
            server.delete(key)


# --- Cookies and CSRF -----------------------------------------------------------------------


def _set_cookie(response, name):
    headers = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(name + "=")]
    assert headers, f"no {name} cookie set"
    return {k.strip().lower(): v for k, _, v in (part.partition("=") for part in headers[-1].split(";")[1:])}


def _expires_in(attributes) -> timedelta:
    return parsedate_to_datetime(attributes["expires"]) - datetime.now(UTC)


def test_remember_me_cookie_is_lax_http_only_and_lasts_days(app, client):
    resident = factories.user(Role.RESIDENT)
    response = _post_login(client, resident.email, remember="y")
    remember = _set_cookie(response, "remember_token")
    assert remember["samesite"] == "Lax"
    assert "httponly" in remember
    assert timedelta(days=6, hours=23) < _expires_in(remember) <= timedelta(days=7)


def test_signed_in_session_expires_after_the_configured_lifetime(app, client):
    resident = factories.user(Role.RESIDENT)
    response = _post_login(client, resident.email)
    session = _set_cookie(response, "session")
    assert "httponly" in session and session["samesite"] == "Lax"
    assert timedelta(hours=7, minutes=59) < _expires_in(session) <= timedelta(hours=8)
    assert "remember_token=" not in " ".join(response.headers.getlist("Set-Cookie"))


def test_csrf_token_from_before_sign_in_is_void_after(app, client):
    resident = factories.user(Role.RESIDENT)
    page = client.get("/account/login")
    before = csrf_token(page.get_data(as_text=True))
    response = client.post(
        "/account/login", data={"csrf_token": before, "email": resident.email, "password": factories.PASSWORD}
    )
    assert response.status_code == 302
    # A token someone planted or read before the sign-in does not work in the signed-in session...
    refused = client.post("/account/logout", data={"csrf_token": before})
    assert refused.status_code == 400
    assert "Sign out" in client.get("/").get_data(as_text=True)
    # ...while the token of a page shown after it does.
    after = csrf_token(client.get("/").get_data(as_text=True))
    assert after != before
    assert client.post("/account/logout", data={"csrf_token": after}).status_code == 302
    assert "Sign out" not in client.get("/").get_data(as_text=True)
