"""Journeys through the site and the resident's mailbox, in English, Traditional and Simplified
Chinese, on a desktop and a phone: the mail is what the worker beside the server really sent, to
the suite's SMTP server (conftest.Mailbox), and every page it leads to is checked like any other
(conftest.Journey.look). Set-up that is not what a journey tests (a moderator routing, a bureau
answering) goes through the services, as the staff pages would.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from feedback_app.bureau import services as bureau
from feedback_app.kernel import catalogue
from feedback_app.kernel.models import Role
from feedback_app.moderation import services as moderation

from .people import PASSWORD, routed_to, staff

INITIATIVE = "franchised-bus-real-time-arrival"
VIEW = {
    "en": "Please show the bus arrival times at the stops near hospitals, where many passengers have no phone.",
    "zh_Hant": "希望醫院附近的巴士站顯示巴士到站時間，很多乘客沒有手機。",
    "zh_Hans": "希望医院附近的巴士站显示巴士到站时间，很多乘客没有手机。",
}
# The officer writes in English or Chinese; the answer reaches the resident as written (the site
# converts its own words to Simplified, not what people wrote).
ANSWER = {
    "en": "Thank you for your view. We will discuss it with the bus companies.",
    "zh_Hant": "多謝你的意見。我們會與巴士公司商討。",
    "zh_Hans": "多謝你的意見。我們會與巴士公司商討。",
}
COMMENT = {
    "en": "Partly: please say when the displays will come.",
    "zh_Hant": "部分解答：請說明何時會安裝顯示屏。",
    "zh_Hans": "部分解答：请说明何时会安装显示屏。",
}
# What each message's subject says, in the language the view was sent in.
RECEIPT_SUBJECT = {"en": "We have received your view", "zh_Hant": "我們已收到你的意見", "zh_Hans": "我们已收到你的意见"}
ANSWERED_SUBJECT = {"en": "has been answered", "zh_Hant": "已獲回覆", "zh_Hans": "已获回复"}
LINK_SUBJECT = {"en": "Your tracking link for", "zh_Hant": "的追蹤連結", "zh_Hans": "的追踪连结"}
VERIFICATION_SUBJECT = {
    "en": "Confirm your e-mail address",
    "zh_Hant": "確認你的電郵地址",
    "zh_Hans": "确认你的电邮地址",
}
CJK = re.compile(r"[\u4e00-\u9fff]")


def _address(who: str, lang: str, viewport: str, backend: str) -> str:
    """One address per journey and cell: the server and its SMTP server serve every cell."""
    return f"{who}-{lang.lower()}-{viewport}-{backend}@example.org"


def _subject_in_language(message, lang: str, words: dict[str, str]) -> str:
    subject = str(message["Subject"])
    assert words[lang] in subject, subject
    if lang != "en":
        assert CJK.search(subject) and words["en"] not in subject, f"an English subject in {lang}: {subject}"
    return subject


@pytest.fixture
def moderator_account(served_app):
    return staff(Role.MODERATOR)


def test_resident_follows_a_view_by_mail_answers_the_question_and_finds_the_link_again(
    journey_factory, lang, viewport, live_server, mailbox, served_app, moderator_account
):
    journey = journey_factory("6-resident-mail")
    address = _address("sender", lang, viewport, live_server.backend)
    page = journey.open(journey.new_page(), f"/initiatives/{INITIATIVE}/views/new", "form")
    page.fill("#body", VIEW[lang])
    page.fill("#email", address)
    page.wait_for_timeout(1100)  # read over before sending (the server's minimum fill time is 1 s)
    page.locator("main form input[type=submit]").click()
    journey.look(page, "sent")
    reference = page.locator(".reference").inner_text()

    # The receipt asks whether updates are wanted; its link leads to a button, which says yes.
    receipt = mailbox.wait_for(address, reference)
    _subject_in_language(receipt, lang, RECEIPT_SUBJECT)
    journey.open(page, mailbox.link(receipt, "/mail/confirm/"), "confirm-updates")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    journey.look(page, "updates-confirmed")
    assert page.locator(".confirmation").is_visible()

    # A moderator routes the view and its bureau answers it (set-up, through the services).
    initiative = catalogue.get_initiative(INITIATIVE)
    sub = routed_to(moderation.find_by_reference(reference), initiative.lead_bureau_code, moderator_account)
    written = bureau.AnswerText(ANSWER[lang], None) if lang == "en" else bureau.AnswerText(None, ANSWER[lang])
    bureau.answer(staff(Role.OFFICER, initiative.lead_bureau_code), sub.id, written)

    answered = mailbox.wait_for(address, ANSWERED_SUBJECT[lang])
    assert reference in _subject_in_language(answered, lang, ANSWERED_SUBJECT)
    assert ANSWER[lang] in " ".join(mailbox.text(answered).split())
    feedback_link = next(link for link in mailbox.links(answered) if link.endswith("#feedback"))
    journey.open(page, feedback_link, "tracking-answered")
    assert ANSWER[lang] in page.locator("main").inner_text()
    page.locator("#feedback input[name=verdict][value=partly]").check()
    page.fill("#comment", COMMENT[lang])
    with page.expect_navigation():
        page.locator("#send-feedback").click()
    journey.look(page, "feedback-thanks")
    assert page.locator(".flash-success").is_visible()
    assert COMMENT[lang] in page.locator("#feedback blockquote").inner_text()
    assert not page.locator("#feedback form").count()  # asked once

    # The tracking link lost: from the home page, the reference and the address bring it back by mail.
    journey.open(page, "/", "home")
    page.locator("main a[href$='/lost-tracking-link']").click()
    journey.look(page, "lost-link")
    page.fill("#reference", reference.lower())  # typed as it comes
    page.fill("#email", address)
    with page.expect_navigation():
        page.locator("main form input[type=submit]").click()
    journey.look(page, "lost-link-asked")
    assert page.locator(".confirmation").is_visible()
    recovered = mailbox.wait_for(address, LINK_SUBJECT[lang])
    assert reference in _subject_in_language(recovered, lang, LINK_SUBJECT)
    journey.open(page, mailbox.link(recovered, f"/track/{reference}/"), "tracking-found-again")
    assert reference in page.locator("h1").inner_text()
    assert COMMENT[lang] in page.locator("#feedback").inner_text()

    # Every message can stop the mail: its unsubscribe link, opened, asks first (a mail scanner
    # opening it changes nothing); the button stops it.
    journey.open(page, mailbox.link(recovered, "/mail/unsubscribe/"), "unsubscribe")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    journey.look(page, "unsubscribed")
    assert page.locator(".confirmation").is_visible()


def test_resident_opens_an_account_downloads_their_data_and_deletes_it(
    journey_factory, lang, viewport, live_server, mailbox
):
    journey = journey_factory("7-resident-account")
    address = _address("resident", lang, viewport, live_server.backend)
    name = {"en": "Chan Tai Man", "zh_Hant": "陳大文", "zh_Hans": "陈大文"}[lang]

    page = journey.open(journey.new_page(), "/account/signup", "sign-up")
    page.fill("#email", address)
    page.fill("#display_name", name)
    page.fill("#password", PASSWORD)
    page.fill("#password_again", PASSWORD)
    with page.expect_navigation():
        page.locator("main form [type=submit]").click()
    assert page.url.endswith("/account/signup/sent"), page.url
    journey.look(page, "sign-up-sent")

    verification = mailbox.wait_for(address, VERIFICATION_SUBJECT[lang])
    _subject_in_language(verification, lang, VERIFICATION_SUBJECT)
    journey.open(page, mailbox.link(verification, "/account/verify/"), "verify-address")
    with page.expect_navigation():
        page.locator("main form [type=submit]").click()
    journey.look(page, "address-verified")
    assert page.locator(".confirmation").is_visible()

    page.locator("main a[href$='/account/login']").click()
    journey.look(page, "sign-in")
    page.fill("#email", address)
    page.fill("#password", PASSWORD)
    with page.expect_navigation():
        page.locator("main form [type=submit]").click()
    assert "/account/login" not in page.url, page.url
    journey.open(page, "/account/", "account")
    assert address in page.locator("main").inner_text()
    assert not page.locator("#unverified-heading").count()

    page.locator("main a[href$='/account/data']").click()
    journey.look(page, "download-data")
    with page.expect_download() as download:
        page.locator("main form [type=submit]").click()
    assert download.value.suggested_filename.endswith(".json")
    data = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    assert data["account"]["email"] == address and data["account"]["display_name"] == name

    page.locator("main a[href$='/account/']").click()  # the breadcrumb back to the account
    journey.look(page, "account-again")
    page.locator("main a[href$='/account/delete']").click()
    journey.look(page, "delete-account")
    page.fill("#password", PASSWORD)
    page.locator("#confirm").check()
    with page.expect_navigation():
        page.locator("main form [type=submit]").click()
    journey.look(page, "account-deleted")
    assert page.locator(".flash-success").is_visible()

    journey.open(page, "/account/login", "sign-in-after-deletion")
    page.fill("#email", address)
    page.fill("#password", PASSWORD)
    with page.expect_navigation():
        page.locator("main form [type=submit]").click()
    journey.look(page, "sign-in-refused")
    assert page.url.split("?")[0].endswith("/account/login"), page.url
    assert page.locator(".error-summary").is_visible()
