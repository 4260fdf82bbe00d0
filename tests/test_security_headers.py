"""Every response carries the security headers; nothing shown to staff or signed-in people is
stored by a browser or proxy."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from feedback_app.auth import services as accounts
from feedback_app.auth import signup
from feedback_app.intake import services as intake
from feedback_app.kernel.models import Role

from . import factories
from .conftest import RequestIsolatedClient, csrf_token, form_token, make_app

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
# Headers and cookies come from the web layer, the same over either database: SQLite only.
pytestmark = pytest.mark.markup


def assert_security_headers(response):
    csp = response.headers.get("Content-Security-Policy", "")
    directives = {part.strip() for part in csp.split(";")}
    assert {
        "default-src 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "object-src 'none'",
        "form-action 'self'",
    } <= directives, csp
    # Nothing loosens the policy: no inline code, no other origin.
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp and "*" not in csp and "http" not in csp
    assert response.headers.get("X-Content-Type-Options") == "nosniff"
    assert response.headers.get("X-Frame-Options") == "DENY"
    assert response.headers.get("Referrer-Policy") in {"same-origin", "no-referrer"}
    assert "camera=()" in response.headers.get("Permissions-Policy", "")


def is_no_store(response) -> bool:
    return "no-store" in response.headers.get("Cache-Control", "")


def test_a_public_page_carries_the_headers(client):
    response = client.get("/")
    assert response.status_code == 200
    assert_security_headers(response)
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in response.headers  # only over HTTPS (see below)
    assert not is_no_store(response)  # nothing private on it


def test_a_form_sent_with_errors_carries_the_headers_and_is_not_stored(client):
    initiative = factories.initiative()
    url = f"/initiatives/{initiative.code}/views/new"
    page = client.get(url).get_data(as_text=True)
    response = client.post(
        url,
        data={
            "csrf_token": csrf_token(page),
            "form_token": form_token(page) or "",
            "initiative": initiative.code,
            "body": "too short",
            "name": "Chan Tai Man",
            "email": "tai.man@example.org",
        },
    )
    assert response.status_code == 400
    assert "tai.man@example.org" in response.get_data(as_text=True)
    assert_security_headers(response)
    assert is_no_store(response)


def test_a_missing_page_carries_the_headers(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert_security_headers(response)


def test_a_too_large_request_carries_the_headers(client):
    response = client.post("/account/login", data={"email": "a@example.org", "password": "p" * (2 * 1024 * 1024)})
    assert response.status_code == 413
    assert_security_headers(response)


def test_a_static_file_carries_the_headers_and_may_be_cached(client):
    response = client.get("/static/style.css")
    assert response.status_code == 200
    assert_security_headers(response)
    assert not is_no_store(response)
    response.close()


def test_a_server_error_page_carries_the_headers(app, monkeypatch):
    broken = make_app(app.config["SQLALCHEMY_DATABASE_URI"], PROPAGATE_EXCEPTIONS=False)
    broken.test_client_class = RequestIsolatedClient
    client = broken.test_client()
    initiative = factories.initiative()
    url = f"/initiatives/{initiative.code}/views/new"
    page = client.get(url).get_data(as_text=True)

    def fail(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(intake, "submit", fail)
    response = client.post(
        url,
        data={
            "csrf_token": csrf_token(page),
            "form_token": form_token(page) or "",
            "initiative": initiative.code,
            "body": factories.TRANSPORT_VIEW,
        },
    )
    assert response.status_code == 500
    assert_security_headers(response)
    assert is_no_store(response)


def test_the_tracking_page_keeps_its_stricter_policy(browser):
    initiative = factories.initiative()
    response = browser.submit_form(
        f"/initiatives/{initiative.code}/views/new", {"initiative": initiative.code, "body": factories.TRANSPORT_VIEW}
    )
    assert response.status_code == 200 and response.request.path.startswith("/track/")
    assert_security_headers(response)
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert is_no_store(response)


def test_hsts_only_when_cookies_are_https_only(app):
    secure = make_app(app.config["SQLALCHEMY_DATABASE_URI"], SESSION_COOKIE_SECURE=True)
    secure.test_client_class = RequestIsolatedClient
    for response in (secure.test_client().get("/"), secure.test_client().get("/no-such-page")):
        assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_the_tracking_pages_forms_answer_with_its_policy(browser, login_as):
    """What the tracking page's own forms (did the answer help? add to my account) send back: the
    page again with errors, or a redirect to it, never cached and never naming the link elsewhere."""
    receipt = intake.submit(
        intake.NewSubmission(
            body=factories.TRANSPORT_VIEW, language="en", topic_area="mobility", initiative_id=factories.initiative().id
        )
    )
    link = f"/track/{receipt.reference}/{receipt.tracking_token}"
    page = browser.client.get(f"/initiatives/{factories.initiative().code}/views/new").get_data(as_text=True)
    for action in ("feedback", "add-to-account"):
        response = browser.client.post(f"{link}/{action}", data={"csrf_token": csrf_token(page)})
        assert response.status_code in (302, 303, 400), (action, response.status_code)
        assert_security_headers(response)
        assert response.headers["Referrer-Policy"] == "no-referrer", action


def _get_every_page(client, sub, user):
    """GET every route of the app, with real ids where it takes them; yields (rule, response)."""
    values = {
        "sub_id": sub.id,
        "user_id": user.id,
        "code": "mobility",
        "reference": sub.reference,
        "token": "x",
        "template_id": 1,
        "bureau_code": "TLB",
        "message_id": 1,
    }
    for rule in client.application.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        path = rule.build({name: values[name] for name in rule.arguments})[1]
        response = client.get(path)
        response.get_data()  # a streamed body (an export) runs, and ends, within its own request
        response.close()
        yield rule, response


# The empty submission form is private (never in a shared cache) but not no-store, so that Back
# shows the very form with its one-time token again (see intake.views); it holds nothing but
# the signed-in person's own name.
FORMS_KEPT_FOR_BACK = {"intake.submit_general", "intake.submit_on_initiative"}


@pytest.mark.parametrize("role", [Role.MODERATOR, Role.OFFICER, Role.ADMIN, Role.RESIDENT])
def test_no_page_shown_to_a_signed_in_person_is_stored(login_as, client, role):
    # Every route, including ones added later: a new staff page cannot forget the rule.
    user = factories.user(role, bureau="TLB" if role == Role.OFFICER else None)
    sub = factories.submission()
    login_as(user)
    seen = 0
    for rule, response in _get_every_page(client, sub, user):
        cache_control = response.headers.get("Cache-Control", "")
        kept_for_back = rule.endpoint in FORMS_KEPT_FOR_BACK and "private" in cache_control
        assert is_no_store(response) or kept_for_back, (rule.rule, response.status_code, cache_control)
        assert_security_headers(response)
        seen += 1
    assert seen > 10


def test_staff_pages_are_not_stored_even_before_sign_in(client):
    sub = factories.submission()
    user = factories.user(Role.MODERATOR)
    staff_pages = [
        (rule, response)
        for rule, response in _get_every_page(client, sub, user)
        if rule.rule.startswith(("/moderation/", "/bureau/", "/admin/", "/account/"))
    ]
    assert staff_pages
    for rule, response in staff_pages:
        assert is_no_store(response), rule.rule
        assert_security_headers(response)


def test_a_staff_page_showing_a_residents_details_is_not_stored(login_as, client, moderator):
    initiative = factories.initiative()
    receipt = intake.submit(
        intake.NewSubmission(
            body=factories.TRANSPORT_VIEW,
            language="en",
            topic_area=initiative.area_code,
            initiative_id=initiative.id,
            name="Chan Tai Man",
            email="tai.man@example.org",
        )
    )
    login_as(moderator)
    response = client.get(f"/moderation/submissions/{receipt.submission_id}")
    assert response.status_code == 200
    assert "tai.man@example.org" in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    assert_security_headers(response)


# A script from our own files (`<script src=...>`) is allowed by the policy; code in the page is not.
INLINE_CODE = re.compile(r"<script(?![^>]*\ssrc=)|<style|\sstyle\s*=|\son[a-z]+\s*=|javascript:", re.IGNORECASE)


def test_no_template_needs_inline_code_the_policy_would_block():
    # templates/mail/ is e-mail, never served by the site: mail clients read inline styles (many
    # drop a <style> element), and no script at all, which the mail test checks.
    offenders = [
        f"{path.relative_to(TEMPLATES)}: {match.group(0).strip()}"
        for path in TEMPLATES.rglob("*.html")
        if path.relative_to(TEMPLATES).parts[0] != "mail"
        for match in INLINE_CODE.finditer(path.read_text())
    ]
    assert offenders == []


# -- cookies behind HTTPS ------------------------------------------------------------------------


def _set_cookies(response) -> dict[str, str]:
    return {header.split("=", 1)[0]: header for header in response.headers.getlist("Set-Cookie")}


def test_behind_https_every_cookie_the_app_sets_is_secure_and_hidden_from_scripts(app):
    """The language cookie used to go out without Secure behind HTTPS, unlike the session's."""
    from feedback_app.extensions import db

    secure = make_app(app.config["SQLALCHEMY_DATABASE_URI"], SESSION_COOKIE_SECURE=True, REMEMBER_COOKIE_SECURE=True)
    secure.test_client_class = RequestIsolatedClient
    client = secure.test_client()
    published = factories.submission()
    published.visibility = "published"
    db.session.commit()

    cookies = _set_cookies(client.get("/language/zh_Hant"))
    page = client.get(f"/views/{published.reference}").get_data(as_text=True)
    cookies |= _set_cookies(client.post(f"/views/{published.reference}/support", data={"csrf_token": csrf_token(page)}))
    resident = factories.user(Role.RESIDENT)
    login = client.get("/account/login").get_data(as_text=True)
    cookies |= _set_cookies(
        client.post(
            "/account/login",
            data={
                "csrf_token": csrf_token(login),
                "email": resident.email,
                "password": factories.PASSWORD,
                "remember": "y",
            },
        )
    )

    assert {"lang", "session", "remember_token"} <= cookies.keys() and len(cookies) >= 4, cookies.keys()
    for header in cookies.values():
        attributes = {part.strip().split("=")[0].lower() for part in header.split(";")[1:]}
        assert {"secure", "httponly"} <= attributes, header
        assert "samesite=lax" in header.lower(), header


def test_over_plain_http_the_language_cookie_still_works(client):
    response = client.get("/language/zh_Hans")
    assert "Secure" not in response.headers["Set-Cookie"]
    assert "简体" in client.get("/").get_data(as_text=True) or client.get_cookie("lang").value == "zh_Hans"


def test_a_residents_own_pages_and_links_are_never_stored_nor_named_elsewhere(app, browser, resident):
    """The account's verification link keeps its token out of Referer headers and caches; the
    sign-up pages and the data download are never stored."""
    for path in ("/account/signup", "/account/signup/sent"):
        response = browser.client.get(path)
        assert response.status_code == 200 and is_no_store(response), path
        assert_security_headers(response)
    signup.sign_up("new.resident@example.org", factories.PASSWORD, None, locale="en")
    token = signup.verification_token(accounts.find_by_email("new.resident@example.org"))
    for path in (f"/account/verify/{token}", "/account/verify/not-a-token"):
        response = browser.client.get(path)
        assert response.headers["Referrer-Policy"] == "no-referrer" and is_no_store(response), path
        assert_security_headers(response)
    browser.login(resident.email)
    page = browser.client.get("/account/data")
    download = browser.client.post("/account/data", data={"csrf_token": csrf_token(page.get_data(as_text=True))})
    assert download.status_code == 200 and is_no_store(download)
    assert_security_headers(download)
