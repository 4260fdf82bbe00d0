"""Mail: the outbox written with each change, sent over real SMTP (aiosmtpd), retried, never lost."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from feedback_app.extensions import db
from feedback_app.kernel.models import OutboxMessage, OutboxStatus, Submission
from feedback_app.mail import delivery

from . import factories

REF_RE = re.compile(r"SCF-\d{4}-\d{6}")
LINK_RE = re.compile(r"http://127\.0\.0\.1:5000(/[^\s\"<>]+)")


def _send(browser, body=factories.TRANSPORT_VIEW, email="chan@example.org", lang=None):
    initiative = factories.initiative()
    if lang:
        browser.client.get(f"/language/{lang}")
    response = browser.submit_form(
        f"/initiatives/{initiative.code}/views/new", {"initiative": initiative.code, "body": body, "email": email}
    )
    reference = REF_RE.search(response.get_data(as_text=True)).group(0)
    return db.session.execute(select(Submission).where(Submission.reference == reference)).scalar_one()


def _links(message) -> list[str]:
    return LINK_RE.findall(message.get_body(("plain",)).get_content())


def test_a_view_with_an_address_gets_its_receipt_with_a_confirm_link(browser, mail_server):
    sub = _send(browser)
    [receipt] = mail_server.to("chan@example.org")
    assert sub.reference in receipt["Subject"]
    assert receipt["Message-ID"] == db.session.execute(select(OutboxMessage.message_id)).scalar_one()
    assert receipt["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert receipt["List-Unsubscribe"].startswith("<http://127.0.0.1:5000/mail/unsubscribe/")
    html = receipt.get_body(("html",)).get_content()
    assert sub.reference in html and '<html lang="en">' in html
    links = _links(receipt)
    tracking = next(link for link in links if link.startswith("/track/"))
    assert browser.client.get(tracking).status_code == 200
    confirm = next(link for link in links if link.startswith("/mail/confirm/"))
    assert browser.client.get(confirm).status_code == 200
    db.session.refresh(sub)
    assert sub.mail_confirmed_at is None  # opening the link (a mail scanner) confirms nothing
    page = browser.client.get(confirm).get_data(as_text=True)
    from .conftest import csrf_token

    assert browser.client.post(confirm, data={"csrf_token": csrf_token(page)}).status_code == 200
    db.session.refresh(sub)
    assert sub.mail_confirmed_at is not None


def test_messages_wait_while_the_server_refuses_and_go_once_when_it_answers(browser, mail_server):
    mail_server.refusing = True
    sub = _send(browser)
    message = db.session.execute(select(OutboxMessage)).scalar_one()
    assert message.status == OutboxStatus.PENDING and message.attempts == 1 and "451" in message.last_error
    assert message.next_attempt_at > datetime.now(UTC)
    mail_server.refusing = False
    assert delivery.send_due() == 0  # not due yet
    assert delivery.send_due(datetime.now(UTC) + timedelta(minutes=2)) == 1
    assert delivery.send_due(datetime.now(UTC) + timedelta(hours=1)) == 0
    assert len(mail_server.to("chan@example.org")) == 1
    assert sub.reference in mail_server.messages[0]["Subject"]


@pytest.mark.parametrize("lang, words", [("zh_Hant", "已收到"), ("zh_Hans", "已收到")])
def test_the_message_is_in_the_language_the_view_was_sent_in(browser, mail_server, lang, words):
    _send(browser, lang=lang)
    [receipt] = mail_server.messages
    assert words in receipt.get_body(("plain",)).get_content()
    assert receipt["Content-Language"].startswith("zh")


# --- Every event's message, only to confirmed addresses --------------------------------------

from feedback_app.bureau import services as bureau  # noqa: E402
from feedback_app.intake import services as intake  # noqa: E402
from feedback_app.kernel.models import MailSuppression, RejectionReason, Role  # noqa: E402
from feedback_app.mail import outbox  # noqa: E402
from feedback_app.moderation import services as moderation  # noqa: E402


def _stored(email="chan@example.org", language="en", body=factories.TRANSPORT_VIEW) -> Submission:
    init = factories.initiative()
    receipt = intake.submit(
        intake.NewSubmission(
            body=body, language=language, topic_area=init.area_code, initiative_id=init.id, email=email
        )
    )
    return db.session.get(Submission, receipt.submission_id)


@pytest.fixture
def queued(app):
    """Nothing is routed without a moderator, so each test decides every step itself."""
    app.config["ROUTING_BUREAU_THRESHOLD"] = 1.01


def _confirm(sub):
    intake.confirm_mail(sub.id)
    db.session.refresh(sub)


def _text(message) -> str:
    return message.get_body(("plain",)).get_content()


def _route(sub, moderator, bureau_code="TLB"):
    db.session.refresh(sub)
    moderation.route(sub.id, area=sub.topic_area_code, bureau=bureau_code, actor=moderator, version=sub.version)


def test_an_unconfirmed_address_gets_the_receipt_and_nothing_else(app, queued, mail_server, moderator, officer):
    sub = _stored()
    _route(sub, moderator)
    bureau.answer(officer, sub.id, bureau.AnswerText("More buses will run on route 960.", None))
    assert [m["Subject"] for m in mail_server.messages] == [f"We have received your view {sub.reference}"]
    assert db.session.execute(select(OutboxMessage.kind)).scalars().all() == ["receipt"]


def test_a_confirmed_sender_hears_of_each_step_with_the_answer(app, queued, mail_server, moderator, officer):
    sub = _stored()
    _confirm(sub)
    _route(sub, moderator)
    routed = mail_server.messages[-1]
    assert "is with the bureau responsible" in routed["Subject"]
    assert "Transport and Logistics Bureau" in _text(routed)
    bureau.answer(officer, sub.id, bureau.AnswerText("More **buses** will run on route 960 from March.", None))
    answered = mail_server.messages[-1]
    assert answered["Subject"] == f"Your view {sub.reference} has been answered"
    text, html = _text(answered), answered.get_body(("html",)).get_content()
    assert "More buses will run on route 960 from March." in text and "<strong>buses</strong>" in html
    assert "Did this answer your point?" in text and "#feedback" in text
    bureau.close(officer, sub.id, "Done: the timetable changed on 1 March.")
    closed = mail_server.messages[-1]
    assert "has been closed" in closed["Subject"] and "the timetable changed" in _text(closed)
    ids = [m["Message-ID"] for m in mail_server.messages]
    assert len(ids) == len(set(ids)) == 4
    assert all(m["To"] == "chan@example.org" for m in mail_server.messages)


def test_a_rejected_view_is_told_why_in_plain_words_and_that_no_answer_follows(app, queued, mail_server, moderator):
    sub = _stored()
    _confirm(sub)
    moderation.reject(
        sub.id, reason=RejectionReason.OFF_TOPIC, note="internal: obvious", actor=moderator, version=sub.version
    )
    rejected = mail_server.messages[-1]
    text = _text(rejected)
    assert "was not accepted" in rejected["Subject"]
    assert "no answer will follow" in text and "not about the Smart City Blueprint" in text
    assert "internal: obvious" not in text  # the moderator's note is not the sender's


def test_sent_back_and_routed_again(app, queued, mail_server, moderator, officer):
    sub = _stored()
    _confirm(sub)
    _route(sub, moderator, "HB")
    hb_officer = factories.user(Role.OFFICER, bureau="HB")
    bureau.send_back(hb_officer, sub.id, "Buses are the Transport and Logistics Bureau's", "TLB")
    assert "being sent to the right bureau" in mail_server.messages[-1]["Subject"]
    _route(sub, moderator, "TLB")
    again = mail_server.messages[-1]
    assert "sent to another bureau" in again["Subject"] and "Transport and Logistics Bureau" in _text(again)


@pytest.mark.parametrize(
    "language, subject, lang",
    [("zh_Hant", "我們已收到你的意見", "zh-Hant-HK"), ("zh_Hans", "我们已收到你的意见", "zh-Hans")],
)
def test_messages_are_in_the_senders_language(app, queued, mail_server, moderator, language, subject, lang):
    sub = _stored(language=language)
    _confirm(sub)
    _route(sub, moderator)
    receipt, routed = mail_server.messages
    assert subject in receipt["Subject"] and receipt["Content-Language"] == lang
    assert f'<html lang="{lang}">' in receipt.get_body(("html",)).get_content()
    assert "運輸及物流局" in _text(routed) or "运输及物流局" in _text(routed)


# --- Failing parts ----------------------------------------------------------------------------


def test_with_the_server_closed_messages_wait_then_go_once_each(app, queued, mail_server):
    mail_server.stop()
    subs = [_stored(email=f"r{i}@example.org") for i in range(3)]
    rows = db.session.execute(select(OutboxMessage)).scalars().all()
    assert {m.status for m in rows} == {OutboxStatus.PENDING} and all("Connection" in m.last_error for m in rows)
    later = datetime.now(UTC)
    for minutes in (2, 5, 12):  # the server is still down at the first retries
        assert delivery.send_due(later + timedelta(minutes=minutes)) == 0
    mail_server.start()
    assert delivery.send_due(later + timedelta(hours=2)) == 3
    assert delivery.send_due(later + timedelta(hours=20)) == 0
    assert sorted(str(m["To"]) for m in mail_server.messages) == sorted(s.email for s in subs)


def test_after_the_last_try_a_message_is_failed_and_an_admin_sends_it_again(app, queued, mail_server, browser):
    mail_server.refusing = True
    sub = _stored()
    moment = datetime.now(UTC)
    for _ in range(delivery.MAX_ATTEMPTS + 2):
        moment += timedelta(hours=9)
        delivery.send_due(moment)
    message = db.session.execute(select(OutboxMessage)).scalar_one()
    assert message.status == OutboxStatus.FAILED and message.attempts == delivery.MAX_ATTEMPTS
    admin = factories.user(Role.ADMIN)
    from .conftest import csrf_token

    browser.login(admin.email)
    page = browser.client.get("/admin/outbox?status=failed").get_data(as_text=True)
    assert "451" in page and "ch***@ex***.org" in page and "chan@example.org" not in page
    mail_server.refusing = False
    response = browser.client.post(f"/admin/outbox/{message.id}/retry", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 302
    assert [m["Subject"] for m in mail_server.messages] == [f"We have received your view {sub.reference}"]
    db.session.refresh(message)
    assert message.status == OutboxStatus.SENT
    from feedback_app.kernel.models import AuditEvent

    assert db.session.execute(select(AuditEvent.action).where(AuditEvent.action == "mail_retried")).scalar_one()


def test_a_worker_killed_between_sending_and_marking_sends_once_more_with_the_same_message_id(app, queued, mail_server):
    mail_server.stop()
    _stored()
    message = db.session.execute(select(OutboxMessage)).scalar_one()
    mail_server.start()
    now = datetime.now(UTC) + timedelta(minutes=2)
    # The worker claims it and the server accepts it; then the worker dies before marking it.
    assert delivery._claim(message.id, now) is not None
    with delivery.transport() as channel:
        channel.send(delivery.email_for(message, delivery.messages.render(message)))
    db.session.rollback()
    assert delivery.send_due(now) == 0  # claimed: left alone while the lease runs
    assert delivery.send_due(now + delivery.LEASE + timedelta(seconds=1)) == 1
    assert delivery.send_due(now + timedelta(hours=3)) == 0
    first, second = mail_server.messages
    assert first["Message-ID"] == second["Message-ID"] == message.message_id


def test_without_a_mail_server_the_message_goes_to_the_log(app, queued, caplog):
    app.config["SMTP_HOST"] = None
    with caplog.at_level("WARNING", logger="feedback_app.mail.delivery"):
        sub = _stored()
    assert "mail not sent (no SMTP_HOST set)" in caplog.text and sub.reference in caplog.text
    assert db.session.execute(select(OutboxMessage.status)).scalar_one() == OutboxStatus.SENT


# --- Unsubscribing and limits -----------------------------------------------------------------


def test_one_click_unsubscribe_works_without_a_session_and_stops_every_later_message(
    app, queued, mail_server, moderator
):
    sub = _stored()
    _confirm(sub)
    [receipt] = mail_server.messages
    link = receipt["List-Unsubscribe"].strip("<>").replace("http://127.0.0.1:5000", "")
    fresh = app.test_client()  # a mail client: no cookie, no form token
    response = fresh.post(link, data="List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    stored = db.session.execute(select(MailSuppression.address_hash)).scalar_one()
    assert "chan" not in stored and len(stored) == 64
    _route(sub, moderator)
    _stored()  # a new view from the same address: no receipt either
    assert len(mail_server.messages) == 1
    assert fresh.post(link[:-3] + "abc", data="List-Unsubscribe=One-Click").status_code == 404


def test_the_form_cannot_flood_one_mailbox(app, queued, mail_server):
    for _ in range(app.config["MAIL_ADDRESS_HOURLY_LIMIT"] + 3):
        _stored(email="Victim@Example.org")
    assert len(mail_server.to("victim@example.org")) == app.config["MAIL_ADDRESS_HOURLY_LIMIT"]
    assert db.session.execute(select(Submission.id)).scalars().all()  # every view stored all the same
    assert outbox.address_hash("victim@example.org") == outbox.address_hash(" VICTIM@example.org ")


def test_mail_templates_carry_no_script():
    from pathlib import Path

    mail = Path(__file__).resolve().parents[1] / "templates" / "mail"
    for path in mail.glob("*.html"):
        assert not re.search(r"<script|\son[a-z]+\s*=|javascript:", path.read_text(), re.IGNORECASE), path


def test_a_server_back_after_an_outage_gets_the_whole_backlog_at_once(app, queued, mail_server):
    mail_server.stop()
    early = _stored(email="early@example.org")
    start = datetime.now(UTC)
    for minutes in (2, 5, 12):  # the early one is put off further and further
        delivery.send_due(start + timedelta(minutes=minutes))
    late = _stored(email="late@example.org")  # its first retry is due a minute from now
    mail_server.start()
    assert delivery.send_due(datetime.now(UTC) + timedelta(minutes=1, seconds=5)) == 2
    assert {str(m["To"]) for m in mail_server.messages} == {early.email, late.email}
