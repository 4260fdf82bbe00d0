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
    text = receipt.get_body(("plain",)).get_content()
    assert receipt["Content-Language"].startswith("zh")
