"""A resident's own account: signing up and confirming the address from the e-mail, "My views",
downloading one's data and deleting the account, through the real app on both databases."""

from __future__ import annotations

import json
import re
import time
from datetime import timedelta

import pytest
from itsdangerous import TimestampSigner
from sqlalchemy import func, select, text

from feedback_app.auth import own_account, signup
from feedback_app.auth import services as accounts
from feedback_app.bureau import services as bureau
from feedback_app.extensions import db
from feedback_app.kernel.models import (
    AuditAction,
    AuditEvent,
    BureauNote,
    Initiative,
    InitiativeFollow,
    OutboxMessage,
    Role,
    Submission,
    User,
    utcnow,
)
from feedback_app.mail import delivery

from . import factories
from .conftest import Browser, RequestIsolatedClient, csrf_token, make_app

LINK_RE = re.compile(r"http://127\.0\.0\.1:5000(/[^\s\"<>]+)")
REF_RE = re.compile(r"SCF-\d{4}-\d{6}")
PASSWORD = "a-long-enough-password"
SENT = "Check your e-mail"


def _sign_up(browser, email, *, name="Chan Siu Ming", password=PASSWORD, again=None, lang=None):
    if lang:
        browser.client.get(f"/language/{lang}")
    return browser.submit_form(
        "/account/signup",
        {"email": email, "display_name": name, "password": password, "password_again": again or password},
    )


def _links(message) -> list[str]:
    return LINK_RE.findall(message.get_body(("plain",)).get_content())


def _verify_link(message) -> str:
    return next(link for link in _links(message) if link.startswith("/account/verify/"))


def _confirm(client, link):
    page = client.get(link)
    assert page.status_code == 200
    return client.post(link, data={"csrf_token": csrf_token(page.get_data(as_text=True))})


def _references(html: str) -> list[str]:
    return list(dict.fromkeys(REF_RE.findall(html)))


def _account(email) -> User:
    return db.session.execute(select(User).where(User.email == email)).scalar_one()


def _send_view(browser, body=factories.TRANSPORT_VIEW, **fields) -> Submission:
    initiative = factories.initiative()
    response = browser.submit_form(
        f"/initiatives/{initiative.code}/views/new", {"initiative": initiative.code, "body": body, **fields}
    )
    reference = REF_RE.search(response.get_data(as_text=True)).group(0)
    return db.session.execute(select(Submission).where(Submission.reference == reference)).scalar_one()


def _verified_resident(email, name="Chan Siu Ming") -> User:
    return accounts.create_user(email, PASSWORD, Role.RESIDENT, display_name=name)


# --- Signing up and confirming the address ---------------------------------------------------


def test_sign_up_sends_a_link_that_confirms_the_address(browser, mail_server):
    response = _sign_up(browser, "Siu.Ming@Example.org")
    assert response.status_code == 200 and SENT in response.get_data(as_text=True)
    user = _account("siu.ming@example.org")
    assert user.role == Role.RESIDENT and user.email_verified_at is None and user.locale == "en"
    assert user.display_name == "Chan Siu Ming" and user.check_password(PASSWORD)
    [event] = db.session.execute(select(AuditEvent).where(AuditEvent.action == AuditAction.ACCOUNT_SIGNED_UP)).scalars()
    assert event.target_user_id == user.id and "example.org" not in json.dumps(event.after) + json.dumps(event.before)

    [message] = mail_server.to("siu.ming@example.org")
    assert message["Subject"] == "Confirm your e-mail address"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = _verify_link(message)
    assert link in message.get_body(("html",)).get_content()
    # Nothing is stored that the link could be rebuilt from.
    stored = db.session.execute(select(OutboxMessage)).scalar_one()
    assert stored.context == {} and link.rsplit("/", 1)[1] not in json.dumps(stored.context)

    # Opening the link (a mail scanner does) confirms nothing; the button does.
    page = browser.client.get(link)
    assert page.status_code == 200 and page.headers["Referrer-Policy"] == "no-referrer"
    db.session.refresh(user)
    assert user.email_verified_at is None
    done = _confirm(browser.client, link)
    assert done.status_code == 200 and "your e-mail address is confirmed" in done.get_data(as_text=True)
    db.session.refresh(user)
    assert user.email_verified_at is not None
    assert (
        db.session.execute(
            select(func.count()).where(
                AuditEvent.action == AuditAction.EMAIL_VERIFIED, AuditEvent.target_user_id == user.id
            )
        ).scalar_one()
        == 1
    )
    # Opened again: it says so, and verifies nothing twice.
    again = browser.client.get(link)
    assert again.status_code == 200 and "your e-mail address is confirmed" in again.get_data(as_text=True)


def test_the_account_and_its_mail_take_the_language_of_the_page(browser, mail_server):
    _sign_up(browser, "wong@example.org", lang="zh_Hant")
    assert _account("wong@example.org").locale == "zh_Hant"
    [message] = mail_server.to("wong@example.org")
    assert message["Content-Language"].startswith("zh")
    assert "電郵" in message.get_body(("plain",)).get_content()


@pytest.mark.parametrize(
    "fields, field, problem",
    [
        ({"password": "short", "again": "short"}, "password", "at least 10 characters"),
        ({"again": "a-different-password"}, "password_again", "not the same"),
        ({"email": "not-an-address"}, "email", "Invalid email address"),
    ],
)
def test_a_refused_sign_up_keeps_what_was_typed_and_opens_nothing(browser, mail_server, fields, field, problem):
    fields = dict(fields)  # the parameters are shared by the SQLite and PostgreSQL cases
    email = fields.pop("email", "kept@example.org")
    response = _sign_up(browser, email, name="Kept Name", **fields)
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and problem in html and f'href="#{field}"' in html
    assert 'value="Kept Name"' in html and f'value="{email}"' in html
    assert db.session.execute(select(func.count()).select_from(User)).scalar_one() == 0
    assert mail_server.messages == []


def test_signing_up_with_an_address_that_has_an_account_tells_nothing_and_opens_nothing(app, browser, mail_server):
    verified = _verified_resident("taken@example.org")
    first = _sign_up(browser, "new@example.org")
    second = _sign_up(browser, "TAKEN@example.org", password="another-password-1")
    # The same page, word for word (the same redirect to it).
    assert first.request.path == second.request.path == "/account/signup/sent"
    assert first.get_data(as_text=True) == second.get_data(as_text=True)
    assert db.session.execute(select(func.count()).select_from(User)).scalar_one() == 2
    db.session.refresh(verified)
    assert verified.check_password(PASSWORD)  # the account is untouched
    # Its owner is told, once per attempt, within the address's limits.
    [note] = mail_server.to("taken@example.org")
    assert "has an account already" in note.get_body(("plain",)).get_content()
    assert not any(link.startswith("/account/verify/") for link in _links(note))
    for _ in range(app.config["MAIL_ADDRESS_HOURLY_LIMIT"] + 2):
        _sign_up(browser, "taken@example.org")
    assert len(mail_server.to("taken@example.org")) == app.config["MAIL_ADDRESS_HOURLY_LIMIT"]


def test_signing_up_again_before_confirming_sends_the_link_again(browser, mail_server):
    _sign_up(browser, "again@example.org")
    _sign_up(browser, "again@example.org", password="another-password-1")
    _first, second = mail_server.to("again@example.org")
    assert _account("again@example.org").check_password(PASSWORD)  # the first password holds
    assert _confirm(browser.client, _verify_link(second)).status_code == 200
    assert _account("again@example.org").email_verified_at is not None


def test_a_wrong_or_changed_link_is_not_found(browser, mail_server):
    _sign_up(browser, "link@example.org")
    link = _verify_link(mail_server.to("link@example.org")[0])
    for wrong in (link[:-3] + "abc", "/account/verify/not-a-token", "/account/verify/" + "x" * 400):
        response = browser.client.get(wrong)
        assert response.status_code == 404 and "does not work" in response.get_data(as_text=True)
        token = csrf_token(browser.client.get("/account/signup").get_data(as_text=True))
        assert browser.client.post(wrong, data={"csrf_token": token}).status_code == 404
    # Signed with a key this site does not hold: not ours.
    user = _account("link@example.org")
    forged = signup.URLSafeTimedSerializer("another-key", salt=signup.SALT).dumps({"u": user.id, "e": "0" * 24})
    assert browser.client.get(f"/account/verify/{forged}").status_code == 404
    assert _account("link@example.org").email_verified_at is None


def test_an_expired_link_says_so(app, browser, mail_server, monkeypatch):
    _sign_up(browser, "late@example.org")
    user = _account("late@example.org")
    hours = signup.verification_hours()
    with app.test_request_context():
        monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) - hours * 3600 - 60)
        token = signup.verification_token(user)
        monkeypatch.undo()
    response = browser.client.get(f"/account/verify/{token}")
    assert response.status_code == 410 and "expired" in response.get_data(as_text=True)
    form = csrf_token(browser.client.get("/account/signup").get_data(as_text=True))
    assert browser.client.post(f"/account/verify/{token}", data={"csrf_token": form}).status_code == 410
    db.session.refresh(user)
    assert user.email_verified_at is None


def test_a_link_made_before_a_key_rotation_still_works(app, browser, mail_server):
    _sign_up(browser, "rotate@example.org")
    link = _verify_link(mail_server.to("rotate@example.org")[0])
    old = app.secret_key
    app.config["SECRET_KEY_FALLBACKS"] = [old]
    app.secret_key = app.config["SECRET_KEY"] = "a-new-secret-key-after-rotation"
    page = browser.client.get(link)
    assert page.status_code == 200
    # (the session cookie was signed with the old key too, and is kept by the fallback)
    assert _confirm(browser.client, link).status_code == 200
    assert _account("rotate@example.org").email_verified_at is not None


def test_an_unconfirmed_account_signs_in_is_told_and_can_ask_for_the_link_again(browser, mail_server):
    _sign_up(browser, "later@example.org")
    signed_in = browser.login("later@example.org", PASSWORD)
    html = signed_in.get_data(as_text=True)
    assert signed_in.status_code == 200 and "Please confirm your e-mail address" in html
    assert "cannot add views to your account or follow initiatives" in html
    page = browser.client.get("/account/")
    assert "We sent a link to later@example.org" in page.get_data(as_text=True)
    resent = browser.submit_form("/account/", {}, action="/account/verify/resend")
    assert "sent the confirmation e-mail again" in resent.get_data(as_text=True)
    assert len(mail_server.to("later@example.org")) == 2
    assert _confirm(browser.client, _verify_link(mail_server.to("later@example.org")[-1])).status_code == 200
    page = browser.client.get("/account/").get_data(as_text=True)
    assert "We sent a link" not in page and "(e-mail not confirmed)" not in page


def test_an_account_made_by_an_administrator_counts_as_confirmed(app):
    assert accounts.email_verified(factories.user(Role.OFFICER, bureau="TLB"))
    assert accounts.email_verified(factories.user(Role.RESIDENT))


def test_the_login_page_leads_to_sign_up_and_a_signed_in_person_is_sent_to_the_account(browser, resident):
    assert "/account/signup" in browser.client.get("/account/login").get_data(as_text=True)
    browser.login(resident.email)
    assert browser.client.get("/account/signup").headers["Location"].endswith("/account/")


# --- The account overview ------------------------------------------------------------------------


def test_the_overview_links_every_page_of_ones_account(browser, resident):
    browser.login(resident.email)
    html = browser.client.get("/account/").get_data(as_text=True)
    for path in ("/account/views", "/account/data", "/account/password", "/account/two-factor", "/account/delete"):
        assert f'href="{path}"' in html, path
    menu = browser.client.get("/").get_data(as_text=True)
    assert 'href="/account/"' in menu and 'href="/account/password"' in menu


def test_staff_see_only_what_applies_to_them(browser, officer):
    browser.login(officer.email)
    html = browser.client.get("/account/").get_data(as_text=True)
    assert 'href="/account/password"' in html and 'href="/account/two-factor"' in html
    assert 'href="/account/delete"' not in html and 'href="/account/data"' not in html


# --- My views ------------------------------------------------------------------------------------


def test_my_views_lists_only_the_accounts_own_views_newest_first_with_their_tracking_links(app, client):
    me, other = _verified_resident("me@example.org"), _verified_resident("other@example.org")
    mine_browser, other_browser = Browser(client), Browser(app.test_client())
    mine_browser.login(me.email, PASSWORD)
    empty = mine_browser.client.get("/account/views")
    assert empty.status_code == 200 and "You have not sent a view while signed in yet" in empty.get_data(as_text=True)
    other_browser.login(other.email, PASSWORD)
    theirs = _send_view(other_browser)
    mine = [_send_view(mine_browser, factories.TRANSPORT_VIEW + f" Point {n}.") for n in range(3)]
    anonymous = factories.submission()

    app.config["PAGE_SIZE"] = 2
    first = mine_browser.client.get("/account/views").get_data(as_text=True)
    assert _references(first) == [mine[2].reference, mine[1].reference]
    assert theirs.reference not in first and anonymous.reference not in first
    after = re.search(r'href="(/account/views\?after=\d+)"', first).group(1)
    second = mine_browser.client.get(after).get_data(as_text=True)
    assert _references(second) == [mine[0].reference]
    # Each reference opens the view's tracking page.
    link = re.search(r'href="(/track/[^"]+)"', second).group(1)
    tracking = mine_browser.client.get(link)
    assert tracking.status_code == 200 and mine[0].reference in tracking.get_data(as_text=True)


def test_my_views_needs_a_sign_in(client):
    assert client.get("/account/views").status_code == 302


# --- Download my data ----------------------------------------------------------------------------


def test_the_download_holds_the_accounts_data_and_nothing_about_anyone_else(app, client, officer):
    officer.display_name = "Officer Lam Kwok Wai"
    db.session.commit()
    me = _verified_resident("me@example.org", name="Chan Siu Ming")
    other = _verified_resident("other@example.org", name="Lee Tai Man")
    mine_browser, other_browser = Browser(client), Browser(app.test_client())
    other_browser.login(other.email, PASSWORD)
    theirs = _send_view(other_browser, factories.TRANSPORT_VIEW + " Someone else's words.", email="other@example.org")
    mine_browser.login(me.email, PASSWORD)
    mine = _send_view(mine_browser, name="Chan Siu Ming", email="me@example.org")
    assert mine.bureau_code == "TLB"
    bureau.add_note(officer, mine.id, "Internal: call the operator first.")
    bureau.answer(officer, mine.id, bureau.AnswerText("Thank you: more trips from January.", None))
    initiative = db.session.get(Initiative, mine.initiative_id)
    db.session.add(InitiativeFollow(user_id=me.id, initiative_id=initiative.id))
    db.session.add(InitiativeFollow(user_id=other.id, initiative_id=initiative.id))
    db.session.commit()

    page = mine_browser.client.get("/account/data")
    assert page.status_code == 200
    response = mine_browser.client.post("/account/data", data={"csrf_token": csrf_token(page.get_data(as_text=True))})
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    assert "no-store" in response.headers["Cache-Control"]
    raw = response.get_data(as_text=True)
    data = json.loads(raw)
    assert data["account"]["email"] == "me@example.org" and data["account"]["display_name"] == "Chan Siu Ming"
    assert data["account"]["email_verified_at"] and data["account"]["locale"] is None
    [view] = data["views"]
    assert view["reference"] == mine.reference and view["text_as_sent"] == factories.TRANSPORT_VIEW
    assert view["status"] == "answered" and view["email_given"] == "me@example.org"
    assert view["answers"][0]["text"][0]["text"] == "Thank you: more trips from January."
    assert [f["initiative"] for f in data["followed_initiatives"]] == [initiative.code]
    assert {m["kind"] for m in data["messages"]} >= {"receipt"}
    # Nobody else: not the other resident, not the officer, not the internal note.
    for foreign in ("other@example.org", "Lee Tai Man", theirs.reference, "Someone else", "Lam Kwok Wai", "Internal:"):
        assert foreign not in raw, foreign
    [event] = db.session.execute(
        select(AuditEvent).where(AuditEvent.action == AuditAction.ACCOUNT_DATA_EXPORTED)
    ).scalars()
    assert event.target_user_id == me.id and event.after["views"] == 1
    assert db.session.execute(select(func.count()).select_from(BureauNote)).scalar_one() == 1


def test_staff_have_no_download_of_their_own(browser, moderator):
    browser.login(moderator.email)
    assert browser.client.get("/account/data").status_code == 403


# --- Deleting the account --------------------------------------------------------------------------


def _traces(*needles: str) -> list[str]:
    """Every place in the database where one of `needles` is still found."""
    found = []
    checks = {
        "submission.name/email": "SELECT name, email FROM submission",
        "user_account": "SELECT email, display_name FROM user_account",
        "audit_event": "SELECT CAST(before AS TEXT), CAST(after AS TEXT), reason FROM audit_event",
        "outbox_message": "SELECT recipient, CAST(context AS TEXT) FROM outbox_message",
    }
    for where, query in checks.items():
        for row in db.session.execute(text(query)):
            cells = " ".join(str(cell) for cell in row if cell is not None).lower()
            found += [f"{where}: {needle}" for needle in needles if needle.lower() in cells]
    return found


def test_deleting_the_account_leaves_no_name_or_address_anywhere(app, browser, mail_server, officer):
    email, name = "leaving@example.org", "Cheung Ka Yan"
    _sign_up(browser, email, name=name)
    _confirm(browser.client, _verify_link(mail_server.to(email)[0]))
    browser.login(email, PASSWORD)
    me = _account(email)
    on_account = _send_view(browser, name=name, email=email)
    browser.logout()
    # A view sent without signing in, with the address the account proved its own.
    without = _send_view(browser, factories.TRANSPORT_VIEW + " Sent anonymously.", name=name, email=email)
    someone_else = _send_view(browser, factories.TRANSPORT_VIEW + " Not mine.", name="Ho Wing", email="ho@example.org")
    browser.login(email, PASSWORD)
    db.session.add(InitiativeFollow(user_id=me.id, initiative_id=on_account.initiative_id))
    db.session.commit()
    bureau.answer(officer, on_account.id, bureau.AnswerText("Thank you for the view.", None))
    assert _traces(email, name)  # the test finds them while they are there

    page = browser.client.get("/account/delete")
    assert page.status_code == 200
    token = csrf_token(page.get_data(as_text=True))
    unticked = browser.client.post("/account/delete", data={"csrf_token": token, "password": PASSWORD})
    assert unticked.status_code == 400 and "Tick the box" in unticked.get_data(as_text=True)
    wrong = browser.client.post(
        "/account/delete", data={"csrf_token": token, "password": "wrong-password", "confirm": "y"}
    )
    assert wrong.status_code == 400 and "That password is not right" in wrong.get_data(as_text=True)
    assert _account(email).deleted_at is None

    done = browser.client.post(
        "/account/delete", data={"csrf_token": token, "password": PASSWORD, "confirm": "y"}, follow_redirects=True
    )
    assert done.status_code == 200 and "Your account is deleted" in done.get_data(as_text=True)
    assert browser.client.get("/account/").status_code == 302  # signed out

    assert _traces(email, name) == []
    user = db.session.get(User, me.id)
    assert user.email == f"deleted-{me.id}@invalid" and user.display_name == "" and not user.active
    assert user.deleted_at is not None and not user.check_password(PASSWORD)
    for sub in (on_account, without):
        db.session.refresh(sub)
        assert sub.name is None and sub.email is None and sub.user_id is None
        assert sub.reference  # the view stays
    db.session.refresh(someone_else)
    assert someone_else.email == "ho@example.org" and someone_else.name == "Ho Wing"
    assert db.session.execute(select(func.count()).select_from(InitiativeFollow)).scalar_one() == 0
    erased = db.session.execute(select(OutboxMessage).where(OutboxMessage.recipient.is_(None))).scalars().all()
    assert erased and all(m.context == {} for m in erased)
    [event] = db.session.execute(select(AuditEvent).where(AuditEvent.action == AuditAction.ACCOUNT_DELETED)).scalars()
    assert event.target_user_id == me.id and event.after["views_anonymised"] == 2
    # Nothing more is sent, and the account cannot be signed in to or brought back.
    mail_server.clear()
    bureau.answer(officer, without.id, bureau.AnswerText("Thank you.", None))
    assert mail_server.messages == []
    assert browser.login(email, PASSWORD).status_code == 400
    with pytest.raises(accounts.AccountError):
        accounts.set_active(me.id, True, actor=factories.user(Role.ADMIN))


def test_an_unconfirmed_account_cannot_take_an_address_or_its_mail_from_its_owner(browser, mail_server):
    victim = _send_view(browser, name="Real Owner", email="owner@example.org")
    _sign_up(browser, "owner@example.org")  # not confirmed: the address is not proven theirs
    browser.login("owner@example.org", PASSWORD)
    own = _send_view(browser, factories.TRANSPORT_VIEW + " Sent signed in.", name="Who Ever", email="x@example.org")
    page = browser.client.get("/account/delete")
    browser.client.post(
        "/account/delete",
        data={"csrf_token": csrf_token(page.get_data(as_text=True)), "password": PASSWORD, "confirm": "y"},
    )
    db.session.refresh(victim)
    assert victim.email == "owner@example.org" and victim.name == "Real Owner"
    receipts = {
        m.submission_id: m.recipient
        for m in db.session.execute(select(OutboxMessage).where(OutboxMessage.kind == "receipt")).scalars()
    }
    assert receipts == {victim.id: "owner@example.org", own.id: None}
    assert _traces("x@example.org", "Who Ever") == []


def test_staff_cannot_delete_their_own_account(browser, moderator):
    browser.login(moderator.email)
    page = browser.client.get("/account/delete")
    assert page.status_code == 403 and "ask an administrator" in page.get_data(as_text=True)
    token = csrf_token(browser.client.get("/account/password").get_data(as_text=True))
    response = browser.client.post(
        "/account/delete", data={"csrf_token": token, "password": factories.PASSWORD, "confirm": "y"}
    )
    assert response.status_code == 403
    db.session.refresh(moderator)
    assert moderator.deleted_at is None and moderator.active


def test_the_demo_resident_cannot_be_deleted(app, browser):
    user = accounts.create_user("resident@demo.scf.hk", "resident-demo-2026", Role.RESIDENT)
    browser.login(user.email, "resident-demo-2026")
    page = browser.client.get("/account/delete")
    assert page.status_code == 403 and "demo account" in page.get_data(as_text=True)
    with pytest.raises(own_account.CannotDelete):
        own_account.delete_account(user.id, "resident-demo-2026")


def test_no_audit_writer_records_an_address_or_a_name(app, browser, mail_server):
    """Account changes of every kind, then the history is searched for the address and name."""
    admin = factories.user(Role.ADMIN)
    user = accounts.create_user(
        "audited@example.org", PASSWORD, Role.RESIDENT, display_name="Yip Hoi Ting", actor=admin
    )
    accounts.change_role(user.id, Role.MODERATOR, actor=admin)
    accounts.change_role(user.id, Role.RESIDENT, actor=admin)
    accounts.change_password(user.id, "yet-another-password", actor=admin)
    accounts.set_active(user.id, False, actor=admin)
    accounts.set_active(user.id, True, actor=admin)
    _sign_up(browser, "signed.up@example.org", name="Tsang Mei")
    _confirm(browser.client, _verify_link(mail_server.to("signed.up@example.org")[0]))
    events = db.session.execute(select(AuditEvent)).scalars().all()
    assert len(events) >= 8
    assert [
        t
        for t in _traces("audited@example.org", "Yip Hoi Ting", "signed.up@", "Tsang Mei")
        if t.startswith("audit_event")
    ] == []


def test_the_verification_link_of_a_deleted_account_opens_nothing(browser, mail_server):
    _sign_up(browser, "gone@example.org")
    link = _verify_link(mail_server.to("gone@example.org")[0])
    user = _account("gone@example.org")
    own_account.delete_account(user.id, PASSWORD)
    assert browser.client.get(link).status_code == 404


def test_the_verification_mail_of_a_deleted_account_is_not_sent(app, browser, mail_server):
    mail_server.refusing = True
    _sign_up(browser, "quick@example.org")
    own_account.delete_account(_account("quick@example.org").id, PASSWORD)
    mail_server.refusing = False
    assert delivery.send_due(utcnow() + timedelta(hours=1)) == 0
    assert mail_server.messages == []


def test_sign_ups_are_limited_per_client_and_the_form_comes_back(app):
    limited = make_app(app.config["SQLALCHEMY_DATABASE_URI"], RATELIMIT_ENABLED=True, SIGNUP_RATE_LIMIT="2 per hour")
    limited.test_client_class = RequestIsolatedClient
    browser = Browser(limited.test_client())
    # A form with a mistake does not count; an address with an account counts like a new one.
    assert _sign_up(browser, "a@example.org", again="something-else-1").status_code == 400
    _verified_resident("taken@example.org")
    assert _sign_up(browser, "taken@example.org").request.path == "/account/signup/sent"
    assert _sign_up(browser, "b@example.org").request.path == "/account/signup/sent"
    refused = _sign_up(browser, "c@example.org", name="Kept Name")
    html = refused.get_data(as_text=True)
    assert refused.status_code == 429 and "Too many accounts" in html and 'value="Kept Name"' in html
    assert accounts.find_by_email("c@example.org") is None


def test_a_demo_address_never_becomes_a_resident_account(browser, mail_server):
    response = _sign_up(browser, "resident@demo.scf.hk")
    assert response.request.path == "/account/signup/sent"
    assert accounts.find_by_email("resident@demo.scf.hk") is None and mail_server.messages == []
