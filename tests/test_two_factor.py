"""Two-factor sign-in: required for staff, optional for residents, codes accepted once."""

import re
import time
from datetime import timedelta
from types import SimpleNamespace

import pyotp
import pytest
from sqlalchemy import select

from feedback_app.auth import login as login_module
from feedback_app.auth import services as accounts
from feedback_app.auth import two_factor
from feedback_app.extensions import db
from feedback_app.kernel.models import AuditEvent, Role, User

from . import factories
from .conftest import TOTP_SECRET_RE, Browser, RequestIsolatedClient, csrf_token, make_app, totp_code

SETUP = "/account/two-factor/setup"
CODE_PAGE = "/account/login/code"


def _user(user_id) -> User:
    db.session.expire_all()
    return db.session.get(User, user_id)


def _audits(user, action):
    return (
        db.session.execute(select(AuditEvent).where(AuditEvent.target_user_id == user.id, AuditEvent.action == action))
        .scalars()
        .all()
    )


def _password_step(client, email, password=factories.PASSWORD, query=""):
    page = client.get("/account/login" + query)
    return client.post(
        "/account/login" + query,
        data={
            "csrf_token": csrf_token(page.get_data(as_text=True)),
            "email": email,
            "password": password,
        },
    )


def _code_step(client, code):
    page = client.get(CODE_PAGE)
    assert page.status_code == 200
    return client.post(CODE_PAGE, data={"csrf_token": csrf_token(page.get_data(as_text=True)), "code": code})


def _enrolled(role, bureau=None):
    """An account that has set up two-factor sign-in; returns it with its recovery codes."""
    user = factories.user(role, bureau=bureau)
    secret = two_factor.pending_secret(user.id)
    codes = two_factor.enable(user.id, pyotp.TOTP(secret).now())
    return _user(user.id), secret, codes


NEEDS_LINK = "Open the enrolment link your administrator gave you"


@pytest.mark.parametrize("role", [Role.MODERATOR, Role.OFFICER, Role.ADMIN])
def test_staff_without_an_authenticator_cannot_enrol_with_the_password_alone(app, client, role):
    """Whoever has the password of a new staff account must not be the one to enrol it."""
    user = factories.user(role, bureau="TLB" if role == Role.OFFICER else None)
    response = _password_step(client, user.email)
    assert response.status_code == 403 and NEEDS_LINK in response.get_data(as_text=True)
    staff_page = "/bureau/" if role == Role.OFFICER else "/moderation/queue"
    assert client.get(staff_page).status_code == 302  # not signed in
    assert client.get(SETUP).status_code == 302  # nor can they reach a set-up page
    assert _user(user.id).totp_secret is None and _user(user.id).totp_pending_secret is None
    Browser(client).enrol_with_link(user.email)
    assert client.get(staff_page).status_code == 200


def test_sign_in_tells_staff_about_the_link_in_their_language(app, client):
    user = factories.user(Role.MODERATOR)
    client.set_cookie("lang", "zh_Hant")
    response = _password_step(client, user.email)
    assert response.status_code == 403 and "登記連結" in response.get_data(as_text=True)


def test_enrolment_shows_an_inline_qr_code_and_the_key(app, browser, client):
    resident = factories.user(Role.RESIDENT)
    browser.login(resident.email)
    page = client.get(SETUP)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "<svg" in html and "<img" not in html and "style=" not in html
    assert not re.search(r"<script(?![^>]*\ssrc=)", html)  # no inline code (our own script files only)
    assert html.count("<h1") == 1 and '<label for="code"' in html
    secret = TOTP_SECRET_RE.search(html).group(1).replace(" ", "")
    assert len(secret) == 32
    # Reloading shows the same key, so a QR code already scanned keeps working.
    assert secret in client.get(SETUP).get_data(as_text=True).replace(" ", "")
    assert page.headers["Cache-Control"] == "no-store"


def test_wrong_code_does_not_turn_it_on(app, browser, client):
    resident = factories.user(Role.RESIDENT)
    browser.login(resident.email)
    page = client.get(SETUP)
    response = client.post(SETUP, data={"csrf_token": csrf_token(page.get_data(as_text=True)), "code": "000000"})
    assert response.status_code == 400 and "That code is not right" in response.get_data(as_text=True)
    assert _user(resident.id).totp_secret is None


def test_confirming_a_code_turns_it_on_with_ten_hashed_recovery_codes(app, browser, client):
    resident = factories.user(Role.RESIDENT)
    browser.login(resident.email)
    page = client.get(SETUP)
    html = page.get_data(as_text=True)
    secret = TOTP_SECRET_RE.search(html).group(1).replace(" ", "")
    response = client.post(SETUP, data={"csrf_token": csrf_token(html), "code": totp_code(secret)})
    shown = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", response.get_data(as_text=True))
    assert response.status_code == 200 and len(shown) == 10 and len(set(shown)) == 10
    assert response.headers["Cache-Control"] == "no-store"
    user = _user(resident.id)
    assert user.totp_secret == secret
    assert len(user.recovery_code_hashes) == 10
    assert not set(shown) & set(user.recovery_code_hashes)  # stored only as hashes
    assert all(code.replace("-", "") not in str(user.recovery_code_hashes) for code in shown)
    [event] = _audits(user, "two_factor_enabled")
    assert event.actor_id == user.id
    # This session stays signed in; the secret is no longer offered.
    assert client.get(SETUP).status_code == 302


def test_enrolling_ends_other_sessions_opened_without_the_second_factor(app, resident):
    first, second = (Browser(_client(app)) for _ in range(2))
    first.login(resident.email)
    second.login(resident.email)
    first.enrol_two_factor()
    assert "Sign out" in first.client.get("/").get_data(as_text=True)
    assert "Sign out" not in second.client.get("/").get_data(as_text=True)


def _client(app):
    app.test_client_class = RequestIsolatedClient
    return app.test_client()


def test_password_alone_does_not_sign_in_an_enrolled_account(app, client):
    user, secret, _ = _enrolled(Role.MODERATOR)
    response = _password_step(client, user.email, query="?next=/moderation/queue%3Fstatus%3Drouted")
    assert response.status_code == 302 and response.headers["Location"] == CODE_PAGE
    assert client.get("/moderation/queue").status_code == 302  # not signed in yet
    assert "Sign out" not in client.get("/").get_data(as_text=True)
    response = _code_step(client, totp_code(secret, after_step=_user(user.id).totp_last_step))
    assert response.status_code == 302 and response.headers["Location"] == "/moderation/queue?status=routed"
    assert client.get("/moderation/queue").status_code == 200


def test_a_code_is_accepted_only_once(app, client):
    user, secret, _ = _enrolled(Role.MODERATOR)
    code = totp_code(secret, after_step=_user(user.id).totp_last_step)
    _password_step(client, user.email)
    assert _code_step(client, code).status_code == 302
    Browser(client).logout()
    _password_step(client, user.email)
    replay = _code_step(client, code)
    assert replay.status_code == 400 and "already used" in replay.get_data(as_text=True)
    assert client.get("/moderation/queue").status_code == 302


def test_wrong_code_is_refused(app, client):
    user, _secret, _ = _enrolled(Role.OFFICER, bureau="TLB")
    _password_step(client, user.email)
    response = _code_step(client, "123456")
    assert response.status_code == 400 and "That code is not right" in response.get_data(as_text=True)
    assert client.get("/bureau/").status_code == 302


def test_a_recovery_code_signs_in_once(app, client):
    user, _secret, codes = _enrolled(Role.ADMIN)
    _password_step(client, user.email)
    response = _code_step(client, codes[3].upper().replace("-", " "))  # typed loosely
    assert response.status_code == 302
    assert "9 recovery codes are left" in client.get("/").get_data(as_text=True)
    assert len(_user(user.id).recovery_code_hashes) == 9
    [event] = _audits(user, "two_factor_recovery_code_used")
    assert event.actor_id == user.id and event.after == {"recovery_codes_left": 9}
    Browser(client).logout()
    _password_step(client, user.email)
    assert _code_step(client, codes[3]).status_code == 400


def test_the_second_step_expires(app, client, monkeypatch):
    user, _, _ = _enrolled(Role.MODERATOR)
    _password_step(client, user.email)
    later = time.time() + app.config["TWO_FACTOR_PENDING_SECONDS"] + 1
    monkeypatch.setattr(login_module, "time", SimpleNamespace(time=lambda: later))
    response = client.get(CODE_PAGE)
    assert response.status_code == 302 and response.headers["Location"] == "/account/login"
    assert client.get("/moderation/queue").status_code == 302


def test_the_second_step_ends_when_the_password_changes(app, client):
    user, _, _ = _enrolled(Role.MODERATOR)
    _password_step(client, user.email)
    accounts.change_password(user.id, "a-brand-new-password")
    assert client.get(CODE_PAGE).status_code == 302


def test_code_page_without_a_password_step_sends_to_sign_in(app, client):
    assert client.get(CODE_PAGE).headers["Location"] == "/account/login"


def test_wrong_codes_are_throttled_per_account(app):
    user, secret, _ = _enrolled(Role.MODERATOR)
    limited = make_app(
        app.config["SQLALCHEMY_DATABASE_URI"],
        RATELIMIT_ENABLED=True,
        LOGIN_RATE_LIMIT="100 per minute",
        TWO_FACTOR_RATE_LIMIT="2 per 15 minutes",
    )
    client = _client(limited)
    _password_step(client, user.email)
    for _ in range(2):
        assert _code_step(client, "000000").status_code == 400
    response = _code_step(client, totp_code(secret, after_step=_user(user.id).totp_last_step))
    assert response.status_code == 429
    assert "Too many unsuccessful attempts to sign in" in response.get_data(as_text=True)
    assert client.get("/moderation/queue").status_code == 302


def test_resident_can_turn_it_on_and_off(app, browser, client, resident):
    browser.login(resident.email)
    assert "Two-step sign-in is off" in client.get("/account/two-factor").get_data(as_text=True)
    browser.enrol_two_factor()
    assert "10 unused recovery codes" in client.get("/account/two-factor").get_data(as_text=True)
    wrong = browser.submit_form(
        "/account/two-factor", {"password": "not-my-password"}, action="/account/two-factor/disable"
    )
    assert wrong.status_code == 400 and _user(resident.id).totp_secret is not None
    response = browser.submit_form(
        "/account/two-factor", {"password": factories.PASSWORD}, action="/account/two-factor/disable"
    )
    assert response.status_code == 200 and "Two-step sign-in is off." in response.get_data(as_text=True)
    user = _user(resident.id)
    assert user.totp_secret is None and user.recovery_code_hashes == []
    [event] = _audits(user, "two_factor_disabled")
    assert event.actor_id == user.id
    # Still signed in here; the next sign-in needs the password only.
    assert "Sign out" in client.get("/").get_data(as_text=True)


def test_staff_cannot_turn_it_off(app, browser, client, moderator):
    browser.login(moderator.email)
    settings = client.get("/account/two-factor").get_data(as_text=True)
    assert "Staff accounts must keep two-step sign-in" in settings
    response = client.post(
        "/account/two-factor/disable", data={"csrf_token": csrf_token(settings), "password": factories.PASSWORD}
    )
    assert response.status_code == 302
    assert _user(moderator.id).totp_secret is not None
    assert not _audits(moderator, "two_factor_disabled")


def test_admin_reset_clears_it_ends_sessions_and_staff_enrol_again(app, browser, client, moderator):
    admin = factories.user(Role.ADMIN)
    browser.login(moderator.email)
    assert client.get("/moderation/queue").status_code == 200
    accounts.reset_two_factor(moderator.id, actor=admin)
    user = _user(moderator.id)
    assert user.totp_secret is None and user.totp_last_step is None and user.recovery_code_hashes == []
    [event] = _audits(user, "two_factor_reset")
    assert event.actor_id == admin.id and event.target_user_id == moderator.id
    assert client.get("/moderation/queue").status_code == 302  # the session ended
    response = _password_step(client, moderator.email)
    assert response.status_code == 403 and NEEDS_LINK in response.get_data(as_text=True)


def test_signed_in_users_find_the_settings_page(app, browser, client, resident):
    browser.login(resident.email)
    assert 'href="/account/two-factor"' in client.get("/").get_data(as_text=True)
    assert client.get("/account/two-factor").status_code == 200


def test_settings_need_a_signed_in_user(app, client):
    assert client.get("/account/two-factor").status_code == 302
    assert client.get(SETUP).status_code == 302


def test_wrong_passwords_to_turn_it_off_are_throttled(app, resident):
    limited = make_app(
        app.config["SQLALCHEMY_DATABASE_URI"],
        RATELIMIT_ENABLED=True,
        LOGIN_RATE_LIMIT="100 per minute",
        LOGIN_ACCOUNT_RATE_LIMIT="2 per 15 minutes",
    )
    browser = Browser(_client(limited))
    browser.login(resident.email)
    browser.enrol_two_factor()
    for _ in range(2):
        assert (
            browser.submit_form(
                "/account/two-factor", {"password": "not-my-password"}, action="/account/two-factor/disable"
            ).status_code
            == 400
        )
    response = browser.submit_form(
        "/account/two-factor", {"password": factories.PASSWORD}, action="/account/two-factor/disable"
    )
    assert response.status_code == 429
    assert _user(resident.id).totp_secret is not None


def test_the_qr_code_drawn_is_exactly_the_code_for_the_key():
    """The path the page draws covers the dark modules of segno's matrix and nothing else."""
    import re as _re

    import segno

    from feedback_app.auth import two_factor

    uri = two_factor.provisioning_uri(two_factor.new_secret(), "chan@example.org")
    qr = two_factor.qr_code(uri)
    matrix = segno.make(uri, error="m").matrix
    assert qr.size == len(matrix) + 2 * two_factor.QR_BORDER
    assert _re.fullmatch(r"(M\d+ \d+h\d+v1h-\d+z)+", qr.path)  # numbers only: nothing to escape
    drawn = set()
    for x, y, n in _re.findall(r"M(\d+) (\d+)h(\d+)", qr.path):
        drawn |= {(int(x) + i - two_factor.QR_BORDER, int(y) - two_factor.QR_BORDER) for i in range(int(n))}
    dark = {(x, y) for y, row in enumerate(matrix) for x, bit in enumerate(row) if bit}
    assert drawn == dark
    assert "chan@example.org" not in qr.path


# --- Enrolment links -------------------------------------------------------------------------


def _link(user, **kwargs) -> str:
    return f"/account/enrol/{accounts.issue_enrolment_link(user.id, **kwargs).token}"


def _type_password(client, url, password=factories.PASSWORD):
    page = client.get(url)
    assert page.status_code == 200, page.status_code
    return client.post(url, data={"csrf_token": csrf_token(page.get_data(as_text=True)), "password": password})


def _session_cookie(app, client) -> dict:
    cookie = client.get_cookie("session")
    return app.session_interface.get_signing_serializer(app).loads(cookie.value) if cookie else {}


def test_the_link_alone_shows_no_secret_until_the_password_is_typed(app, client, moderator):
    url = _link(moderator)
    page = client.get(url)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert moderator.email in html and 'type="password"' in html and "two-factor-secret" not in html
    assert client.get(url + "/authenticator").headers["Location"] == url  # the second step waits for the first
    wrong = _type_password(client, url, "not-the-password")
    assert wrong.status_code == 400 and "That password is not right." in wrong.get_data(as_text=True)
    assert client.get(url + "/authenticator").status_code == 302
    assert _user(moderator.id).totp_pending_secret is None
    right = _type_password(client, url)
    assert right.status_code == 302 and right.headers["Location"] == url + "/authenticator"
    page = client.get(url + "/authenticator")
    assert page.status_code == 200 and TOTP_SECRET_RE.search(page.get_data(as_text=True))


def test_the_pending_secret_stays_on_the_server_never_in_the_session_cookie(app, client, moderator):
    """The session cookie is signed, not encrypted: whoever sees it must not read the secret."""
    # A resident turning it on themselves.
    resident = factories.user(Role.RESIDENT)
    other = _client(app)
    Browser(other).login(resident.email)
    html = other.get(SETUP).get_data(as_text=True)
    secret = TOTP_SECRET_RE.search(html).group(1).replace(" ", "")
    assert secret not in str(_session_cookie(app, other))
    assert _user(resident.id).totp_pending_secret == secret
    # Staff, through their enrolment link.
    url = _link(moderator)
    _type_password(client, url)
    html = client.get(url + "/authenticator").get_data(as_text=True)
    secret = TOTP_SECRET_RE.search(html).group(1).replace(" ", "")
    assert secret not in str(_session_cookie(app, client))
    assert _user(moderator.id).totp_pending_secret == secret


def test_a_link_enrols_once_signs_in_and_is_audited_without_secrets(app, client):
    admin, _secret, _codes = _enrolled(Role.ADMIN)
    officer = factories.user(Role.OFFICER, bureau="TLB")
    url = _link(officer, actor=admin)
    _type_password(client, url)
    html = client.get(url + "/authenticator").get_data(as_text=True)
    secret = TOTP_SECRET_RE.search(html).group(1).replace(" ", "")
    wrong = client.post(url + "/authenticator", data={"csrf_token": csrf_token(html), "code": "000000"})
    assert wrong.status_code == 400 and _user(officer.id).totp_secret is None
    done = client.post(url + "/authenticator", data={"csrf_token": csrf_token(html), "code": totp_code(secret)})
    assert done.status_code == 200 and done.headers["Cache-Control"] == "no-store"
    assert len(re.findall(r"<li><code>([a-z0-9-]+)</code></li>", done.get_data(as_text=True))) == 10
    assert client.get("/bureau/").status_code == 200  # signed in: link, password and app all shown
    user = _user(officer.id)
    assert user.totp_secret == secret and user.totp_pending_secret is None
    [issued] = _audits(user, "enrolment_link_issued")
    [used] = _audits(user, "enrolment_link_used")
    assert (issued.actor_id, used.actor_id) == (admin.id, officer.id)
    token = url.rsplit("/", 1)[1]
    for event in (
        _audits(user, "enrolment_link_issued")
        + _audits(user, "enrolment_link_used")
        + _audits(user, "two_factor_enabled")
    ):
        assert secret not in str(event.after) and token not in str(event.after)
    # Spent: it cannot enrol another phone.
    again = _client(app).get(url)
    assert again.status_code == 410 and "already used" in again.get_data(as_text=True)
    assert _client(app).get(url + "/authenticator").status_code == 410


def test_expired_replaced_and_unknown_links_get_a_clear_page(app, client, moderator):
    from sqlalchemy import update

    from feedback_app.kernel.models import EnrolmentLink, utcnow

    old = _link(moderator)
    new = _link(moderator)
    replaced = client.get(old)
    assert replaced.status_code == 410 and "A newer enrolment link was issued" in replaced.get_data(as_text=True)
    assert _type_password(client, new).status_code == 302
    db.session.execute(update(EnrolmentLink).values(expires_at=utcnow() - timedelta(minutes=1)))
    db.session.commit()
    expired = client.get(new)
    assert expired.status_code == 410 and "This enrolment link has expired" in expired.get_data(as_text=True)
    assert client.get(new + "/authenticator").status_code == 410
    for token in ("not-a-token", "x" * 5000, "%00", "%E2%80%AE"):
        response = client.get(f"/account/enrol/{token}")
        assert response.status_code in (400, 404), token
    unknown = client.get("/account/enrol/" + "A" * 43)
    assert unknown.status_code == 404 and "This enrolment link does not work" in unknown.get_data(as_text=True)


def test_a_new_link_voids_the_secret_an_older_link_showed(app, client, moderator):
    old = _link(moderator)
    _type_password(client, old)
    html = client.get(old + "/authenticator").get_data(as_text=True)
    seen = TOTP_SECRET_RE.search(html).group(1).replace(" ", "")
    _link(moderator)  # the administrator issues a new link: the old one leaked, say
    response = client.post(old + "/authenticator", data={"csrf_token": csrf_token(html), "code": totp_code(seen)})
    assert response.status_code == 410
    assert _user(moderator.id).totp_secret is None and _user(moderator.id).totp_pending_secret is None


def test_a_deactivated_account_s_link_does_not_work(app, client, moderator):
    url = _link(moderator)
    accounts.set_active(moderator.id, False)
    assert client.get(url).status_code == 404


def test_links_are_only_for_staff_without_an_authenticator(app):
    resident = factories.user(Role.RESIDENT)
    enrolled, _secret, _codes = _enrolled(Role.MODERATOR)
    for user, message in (
        (resident, "Residents turn on two-step sign-in themselves"),
        (enrolled, "has set up two-step sign-in already"),
    ):
        with pytest.raises(accounts.AccountError, match=message):
            accounts.issue_enrolment_link(user.id)


def test_a_link_expires_after_the_configured_hours(app, moderator):
    from feedback_app.kernel.models import EnrolmentLink, utcnow

    app.config["ENROLMENT_LINK_HOURS"] = 5
    accounts.issue_enrolment_link(moderator.id)
    link = db.session.execute(select(EnrolmentLink)).scalar_one()
    assert timedelta(hours=4, minutes=59) < link.expires_at - utcnow() <= timedelta(hours=5)
    assert len(link.token_hash) == 64  # only a keyed hash is kept


def test_wrong_passwords_on_a_link_are_throttled(app, moderator):
    limited = make_app(
        app.config["SQLALCHEMY_DATABASE_URI"],
        RATELIMIT_ENABLED=True,
        LOGIN_RATE_LIMIT="100 per minute",
        LOGIN_ACCOUNT_RATE_LIMIT="2 per 15 minutes",
    )
    client = _client(limited)
    url = _link(moderator)
    for _ in range(2):
        assert _type_password(client, url, "not-the-password").status_code == 400
    response = _type_password(client, url)
    assert response.status_code == 429 and "Too many unsuccessful attempts" in response.get_data(as_text=True)
    assert client.get(url + "/authenticator").status_code == 302


def test_staff_signed_in_without_an_authenticator_cannot_enrol_on_the_settings_page(app, browser, client):
    """A session from before enrolment links (a staff account signed in on its password alone)."""
    resident = factories.user(Role.RESIDENT)
    browser.login(resident.email)
    db.session.get(User, resident.id).role = Role.MODERATOR  # as an old session would carry it
    db.session.commit()
    assert client.get("/moderation/queue").headers["Location"].startswith(SETUP)
    page = client.get(SETUP)
    assert page.status_code == 403 and NEEDS_LINK in page.get_data(as_text=True)
    assert "two-factor-secret" not in page.get_data(as_text=True)
    assert _user(resident.id).totp_pending_secret is None
