"""Staff journeys through the real site: a moderator with the keyboard only, a bureau officer, an
administrator — in English, Traditional and Simplified Chinese, on a desktop and a phone.

Staff sign in with two steps, as they must: a new account is refused at sign-in and sets up its
authenticator through the one-time enrolment link an administrator hands over, typing its password
there too (conftest.Journey.sign_in reads the key from the page, as an authenticator app scans it).
"""

from __future__ import annotations

import itertools
import string

import pyotp
import pytest
from sqlalchemy import update

from feedback_app.auth import two_factor
from feedback_app.campaigns import services as campaigns
from feedback_app.extensions import db
from feedback_app.kernel import catalogue
from feedback_app.kernel.models import Role, Status, Submission, User, Visibility

from .people import PASSWORD, awaiting_review, routed_to, send_view, staff

INITIATIVE = "franchised-bus-real-time-arrival"
OTHER_BUREAU = "HHB"  # the Health Bureau (HB is Housing)
# A moderator's edit of a published text, naming an office the masking takes for a resident's number.
EDITED = (
    "The real-time arrival board at my stop shows buses that never come; the bus company (2345 6789) says all is fine."
)


def _status(sub_id: int) -> Submission:
    """The view as the server left it (a new transaction: the old one would see an old snapshot)."""
    db.session.commit()
    return db.session.get(Submission, sub_id)


@pytest.fixture
def review_queue(served_app):
    """Three views waiting for a moderator, and two moderators to meet over the third."""
    initiative = catalogue.get_initiative(INITIATIVE)
    views = [
        awaiting_review(send_view(body, initiative))
        for body in (
            "The real-time arrival board at my stop shows buses that never come. Please check the data feed.",
            "BUY CHEAP WATCHES NOW!!! best prices, visit our shop today",
            "The arrival times in the app are often five minutes late on the Island routes.",
        )
    ]
    return {
        "route": views[0],
        "reject": views[1],
        "conflict": views[2],
        "moderator": staff(Role.MODERATOR),
        "other_moderator": staff(Role.MODERATOR),
    }


def _open_by_reference(journey, page, reference: str, step: str) -> None:
    """The queue's find-by-reference box, with keys only."""
    journey.tab_to(page, "#reference")
    page.keyboard.type(reference)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert reference in page.locator("h1").inner_text()
    journey.look(page, step)


def _press(journey, page, selector: str, step: str) -> None:
    journey.tab_to(page, selector)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    journey.look(page, step)


def test_moderator_works_through_the_queue_with_the_keyboard_only(journey_factory, review_queue):
    journey = journey_factory("2-moderator")
    page = journey.new_page()
    journey.sign_in(page, review_queue["moderator"].email, PASSWORD, keyboard=True)
    assert page.url.endswith("/moderation/queue")
    journey.look(page, "queue")

    # Route the first view to another bureau than the classifier guessed, then publish it.
    routed = review_queue["route"]
    _open_by_reference(journey, page, routed.reference, "item-to-route")
    assert page.locator("#why-h").count() == 1  # why the classifier chose its bureau
    journey.tab_to(page, "#bureau")
    before = page.locator("#bureau").input_value()
    page.keyboard.press("ArrowDown" if before != "TLB" else "ArrowUp")
    chosen = page.locator("#bureau").input_value()
    assert chosen != before
    _press(journey, page, "form[action$='/route'] [name=submit]", "routed")
    assert page.locator(".flash-success").count() == 1
    assert _status(routed.id).bureau_code == chosen and _status(routed.id).status == Status.ROUTED
    _press(journey, page, "form[action$='/visibility'] [type=submit]", "published")
    assert page.locator(".flash-success").count() == 1
    assert _status(routed.id).visibility == Visibility.PUBLISHED
    # Correct the published text by hand; the view as sent stays as it was, for staff.
    journey.tab_to(page, "#public_text")
    page.keyboard.press("Control+A")
    page.keyboard.type(EDITED)
    _press(journey, page, "form[action$='/public-text'] [name=submit]", "public-text-edited")
    assert page.locator(".flash-success").count() == 1
    edited = _status(routed.id)
    assert edited.public_text == EDITED
    assert edited.body.endswith("Please check the data feed.")
    # The edit is masked too; the office number it names is not personal data: tick it, and it is shown.
    assert "[PHONE]" in page.locator("#vis-h + p + blockquote").inner_text()
    journey.tab_to(page, "#not-personal-1")
    page.keyboard.press("Space")
    _press(journey, page, "form[action$='/not-personal'] [name=submit]", "not-personal-marked")
    assert page.locator(".flash-success").count() == 1
    assert _status(routed.id).not_personal == ["2345 6789"]
    assert "company (2345 6789) says" in page.locator("#vis-h + p + blockquote").inner_text()

    # Reject the advertisement as spam, with a note.
    _press(journey, page, "nav.breadcrumb a", "back-to-queue")
    _open_by_reference(journey, page, review_queue["reject"].reference, "item-to-reject")
    journey.tab_to(page, "#reason")
    assert page.locator("#reason").input_value() == "spam"
    journey.tab_to(page, "#note")
    page.keyboard.type("Advertisement.")
    _press(journey, page, "form[action$='/reject'] [name=submit]", "rejected")
    assert page.locator(".flash-success").count() == 1
    rejected = _status(review_queue["reject"].id)
    assert rejected.status == Status.REJECTED and rejected.rejection_reason == "spam"
    # A rejected view offers one decision only: to reopen it, as after a rejection made in error.
    assert page.locator("form[action$='/route']").count() == 0
    journey.tab_to(page, "#note")
    page.keyboard.type("Rejected in error: reopened for a second look.")
    _press(journey, page, "form[action$='/reopen'] [type=submit]", "reopened")
    assert page.locator(".flash-success").count() == 1 and page.locator("form[action$='/route']").count() == 1
    assert _status(review_queue["reject"].id).status == Status.NEEDS_REVIEW
    # The shortcuts listed on the page: n opens the next view waiting for review.
    assert page.locator("#shortcuts kbd", has_text="n").count() == 1
    with page.expect_navigation():
        page.keyboard.press("n")
    assert review_queue["reject"].reference not in page.locator("h1").inner_text()
    journey.look(page, "next-view-by-shortcut")

    # Two moderators open the same view; the other one decides first.
    contested = review_queue["conflict"]
    _press(journey, page, "nav.breadcrumb a", "back-to-queue-again")
    _open_by_reference(journey, page, contested.reference, "item-contested")

    other = journey_factory("2-moderator-second")
    other_page = other.new_page()
    other.sign_in(other_page, review_queue["other_moderator"].email, PASSWORD)
    other.open(other_page, f"/moderation/submissions/{contested.id}", "item-contested")
    other_page.locator("form[action$='/route'] [name=submit]").click()
    other.look(other_page, "routed-first")
    assert _status(contested.id).status == Status.ROUTED

    # The first moderator's decision is refused, with a message that says why; nothing is overwritten.
    _press(journey, page, "form[action$='/reject'] [name=submit]", "stale-conflict")
    assert page.locator(".flash-warning").count() == 1
    assert _status(contested.id).status == Status.ROUTED

    # The dashboard, from the queue: the backlog by age, decisions per day, time to triage.
    _press(journey, page, "nav.breadcrumb a", "back-to-queue-last")
    _press(journey, page, "main a[href$='/moderation/dashboard']", "dashboard")
    assert page.locator("svg.chart-svg").count() == 2 and page.locator("main table").count() >= 2


_SHOPS = itertools.count()


@pytest.fixture
def advertising_wave(served_app):
    """Three advertisements for one shop among the views waiting for review, and one real view.
    Each run has its own shop: the server, and what earlier journeys sent, lasts the session."""
    initiative = catalogue.get_initiative(INITIATIVE)
    shop = "watchmart" + string.ascii_lowercase[next(_SHOPS)]
    adverts = [
        awaiting_review(send_view(body.format(shop=shop), initiative))
        for body in (
            "Cheap watches for sale today at {shop}, the best prices in town.",
            "Best watches and bags at factory prices, order from {shop} while stocks last.",
            "Luxury watches half price this week only, message {shop} to order.",
        )
    ]
    real = awaiting_review(send_view("The arrival board at Shatin station is blank most evenings.", initiative))
    # A campaign: one letter sent twice, lightly edited; grouped as the worker groups them.
    letter = (
        "We, the residents of {shop} Court, ask that the real-time arrival boards at our bus stop show "
        "the next three buses and work at night too."
    )
    campaign = [
        awaiting_review(send_view(letter.format(shop=shop) + ending, initiative)) for ending in ("", " Thank you.")
    ]
    for copy in campaign:
        campaigns.place(copy.id)
    return {"adverts": adverts, "real": real, "shop": shop, "campaign": campaign, "moderator": staff(Role.MODERATOR)}


def test_moderator_searches_the_queue_and_rejects_several_views_at_once(journey_factory, advertising_wave, lang):
    journey = journey_factory("2b-moderator-bulk")
    page = journey.new_page()
    journey.sign_in(page, advertising_wave["moderator"].email, PASSWORD)
    journey.look(page, "queue")
    adverts, real = advertising_wave["adverts"], advertising_wave["real"]

    page.fill("#text", advertising_wave["shop"])
    page.locator("details.more-filters summary").click()
    page.select_option("#sort", "age")
    page.locator("form.queue-filters [type=submit]").click()
    journey.look(page, "queue-searched")
    listed = page.locator("main table").inner_text()
    assert all(a.reference in listed for a in adverts) and real.reference not in listed
    assert page.locator("details.more-filters").get_attribute("open") is not None  # the filters stay visible

    for advert in adverts[:2]:
        page.check(f"#pick-{advert.id}")
    page.select_option("#decision", "reject")
    page.select_option("#reason", "spam")
    page.locator("form#bulk [name=submit]").click()
    journey.look(page, "bulk-confirm")
    assert adverts[0].reference in page.locator("main").inner_text()
    assert _status(adverts[0].id).status == Status.NEEDS_REVIEW  # nothing changes before confirming
    page.locator("[name=confirm]").click()
    journey.look(page, "bulk-done")
    assert page.locator(".flash-success").count() == 1
    assert [_status(a.id).status for a in adverts] == [Status.REJECTED, Status.REJECTED, Status.NEEDS_REVIEW]
    assert page.locator("#text").input_value() == advertising_wave["shop"]  # back on the same search
    assert _status(real.id).status == Status.NEEDS_REVIEW

    # A copy of a campaign: one decision on it is made for the other copy too.
    first, second = advertising_wave["campaign"]
    page.fill("#reference", first.reference)
    page.locator("form.find-reference [type=submit]").click()
    journey.look(page, "campaign-copy")
    assert page.locator("#campaign-h").count() == 1 and page.locator("#route-whole_campaign").is_checked()
    # The other copy, and what it adds to this one, before deciding for both.
    variant = page.locator("table.variants tr", has=page.locator(f"a:has-text('{second.reference}')"))
    assert "Thank you." in variant.inner_text()
    page.locator("form[action$='/route'] [name=submit]").click()
    journey.look(page, "campaign-routed")
    assert page.locator(".flash-success").count() == 2  # routed, and the same for the other copy
    assert [_status(c.id).status for c in (first, second)] == [Status.ROUTED, Status.ROUTED]


# The view an officer takes and answers, in the language of the cell: the classifier's words are
# shown as they were typed, Chinese characters included.
FULL_BUS = {
    "en": "Could the arrival boards also show when a bus is full, so we can wait for the next one?",
    "zh_Hant": "巴士到站顯示屏可否同時顯示巴士是否已滿座？這樣我們便可以等下一班車。",
    "zh_Hans": "巴士到站显示屏可否同时显示巴士是否已满座？这样我们便可以等下一班车。",
}
# A letter per cell (language and screen), each sent three times lightly edited: a campaign of
# its own, for the server lasts the session and one letter's copies from an earlier cell, already
# answered, would join the next cell's campaign.
LETTERS = [
    "We, the parents of pupils at the primary school on Tai Po Road, ask that the arrival board at the "
    "school stop shows the buses in large letters, because the children cannot read the small screen from the queue.",
    "As members of the Wong Tai Sin elderly centre we find the arrival app too hard to use. Please let a "
    "hotline read out the next buses for each stop by telephone, in Cantonese and in English.",
    "Hikers who walk in Sai Kung want the boards at the country park terminus to show the last bus of the "
    "evening clearly, so that nobody is left behind after dark on a weekend.",
    "The shop owners of Temple Street ask for an arrival screen inside the shelter beside the night market, "
    "where visitors stand for a long time without knowing when their next ride leaves.",
    "Families in the new estate at Tung Chung ask for arrival information for the feeder routes to the "
    "airport, which are missing from the app although those buses run every ten minutes.",
    "Wheelchair users who meet at the Kwun Tong community hall request that every board says which bus "
    "has a low floor and a ramp, so they can let an unsuitable one pass.",
]
CELLS = [(lang, viewport) for lang in ("en", "zh_Hant", "zh_Hans") for viewport in ("desktop", "phone")]
TEMPLATE_TEXT = {
    "en": "Thank you for your view {reference}. We have asked the bus companies:\n\n"
    "- whether the boards can show how full a bus is;\n- when they could start.",
    "zh_Hant": "多謝你的意見（{reference}）。我們已向巴士公司查詢：\n\n- 顯示屏能否顯示巴士的載客情況；\n- 何時可以開始。",
    "zh_Hans": "多谢你的意见（{reference}）。我们已向巴士公司查询：\n\n- 显示屏能否显示巴士的载客情况；\n- 何时可以开始。",
}
CAMPAIGN_ANSWER = {
    "en": "Thank you all. We have passed your letter to the bus companies and will report back on this page.",
    "zh_Hant": "多謝各位。我們已把你們的信轉交巴士公司，並會在此頁公布跟進結果。",
    "zh_Hans": "多谢各位。我们已把你们的信转交巴士公司，并会在此页公布跟进结果。",
}
# The keyboard-only cell: the officer takes and answers a view with keys alone.
KEYBOARD_CELL = ("en", "desktop")


@pytest.fixture
def bureau_inbox(served_app, lang, viewport):
    """An officer of the initiative's lead bureau; views routed there (to take and answer, to send
    back, to share with another bureau, to close, and a campaign of three copies); one routed
    elsewhere. Each view routed once the worker has classified it, so the classifier's reason is
    there."""
    initiative = catalogue.get_initiative(INITIATIVE)
    ours = initiative.lead_bureau_code
    moderator = staff(Role.MODERATOR)
    officer = staff(Role.OFFICER, ours)

    letter = LETTERS[CELLS.index((lang, viewport))]
    # All sent first, then each routed once the worker has looked at it: the worker works meanwhile.
    sent = {
        "to_answer": send_view(FULL_BUS[lang], initiative, lang),
        "not_ours": send_view(
            "The clinic next to the bus terminus has no queue information online; this is not about buses.", initiative
        ),
        "to_share": send_view(
            "Minibus drivers at the hospital stop wait without knowing when the patients' shuttle arrives; "
            "could the boards show both?",
            initiative,
        ),
        "to_close": send_view(
            "The arrival board at my stop was repaired last week and works well now. Thanks.", initiative
        ),
        "elsewhere": send_view(
            "Please publish the waiting times of general out-patient clinics on the same app.", initiative
        ),
    }
    copies = [
        send_view(copy, initiative)
        for copy in (letter, letter + " Thank you.", "Dear Sir or Madam, " + letter + " Yours faithfully.")
    ]
    views = {key: routed_to(sub, OTHER_BUREAU if key == "elsewhere" else ours, moderator) for key, sub in sent.items()}
    copies = [routed_to(c, ours, moderator) for c in copies]
    for copy in copies:
        campaigns.place(copy.id)  # as the worker does when campaigns are on (safe to repeat)
    campaign_ids = {_status(c.id).campaign_id for c in copies}
    assert len(campaign_ids) == 1 and None not in campaign_ids, "the worker did not group the letter's copies"
    return {"officer": officer, "campaign": copies, **views}


def _choose(journey, page, selector: str, value: str) -> None:
    """Choose an option of a <select> with the arrow keys, as a keyboard user does."""
    journey.tab_to(page, selector)
    for key in ("ArrowDown", "ArrowUp"):
        for _ in range(100):
            if page.locator(selector).input_value() == value:
                return
            before = page.locator(selector).input_value()
            page.keyboard.press(key)
            if page.locator(selector).input_value() == before:
                break  # the end of the list: try the other way
    assert page.locator(selector).input_value() == value, f"{value} cannot be chosen in {selector}"


def test_officer_works_through_the_bureau_workspace_and_cannot_reach_another_bureau(
    journey_factory, bureau_inbox, lang, viewport
):
    journey = journey_factory("3-officer")
    keyboard = (lang, viewport) == KEYBOARD_CELL
    page = journey.new_page()
    officer = bureau_inbox["officer"]
    journey.sign_in(page, officer.email, PASSWORD, keyboard=keyboard)
    assert page.url.endswith("/bureau/")
    journey.look(page, "inbox")

    def click(selector: str, step: str) -> None:
        """Press a button or follow a link (with the keyboard in the keyboard-only cell)."""
        with page.expect_navigation():
            if keyboard:
                journey.tab_to(page, selector)
                page.keyboard.press("Enter")
            else:
                page.locator(selector).first.click()
        journey.look(page, step)

    def fill(selector: str, value: str) -> None:
        if keyboard:
            journey.tab_to(page, selector)
            page.keyboard.press("Control+A")
            page.keyboard.type(value)
        else:
            page.fill(selector, value)

    def choose(selector: str, value: str) -> None:
        if keyboard:
            _choose(journey, page, selector, value)
        else:
            page.select_option(selector, value)

    def tick(selector: str) -> None:
        if keyboard:
            journey.tab_to(page, selector)
            page.keyboard.press("Space")
        else:
            page.check(selector)
        assert page.locator(selector).is_checked()

    def find(reference: str, step: str) -> None:
        """The inbox's find-by-reference box when the inbox is open; its address otherwise."""
        if page.locator("#reference").count():
            fill("#reference", reference)
            click("form.find-reference [type=submit]", step)
        else:
            journey.open(page, f"/bureau/find?reference={reference}", step)

    # An answer template for the bureau, with a placeholder filled in with each view's reference.
    click("main a[href$='/bureau/templates']", "templates")
    click("main a[href$='/bureau/templates/new']", "template-new")
    title = {"en": "Full buses", "zh_Hant": "巴士載客量", "zh_Hans": "巴士载客量"}[lang] + f" · {viewport}"
    fill("#title", title)
    fill("#body_en" if lang == "en" else "#body_zh", TEMPLATE_TEXT[lang])
    click("main form [type=submit]", "template-saved")
    assert page.locator(".flash-success").count() == 1
    assert page.locator("main table a", has_text=title).count() == 1
    template_id = page.locator("main table a", has_text=title).get_attribute("href").rsplit("/", 1)[1]

    # Take a view, and read why it is with this bureau: the classifier's words as they were typed.
    to_answer = bureau_inbox["to_answer"]
    find(to_answer.reference, "item")
    assert page.locator("#reason-h").count() == 1
    terms = page.locator("#why-h ~ ul.terms .term").all_inner_texts()
    assert terms, "the classifier's words are not listed"
    assert all(term in to_answer.body for term in terms), (terms, to_answer.body)
    assert page.locator("#shortcuts kbd", has_text="t").count() == 1
    if keyboard:
        with page.expect_navigation():
            page.keyboard.press("t")
        journey.look(page, "taken")
    else:
        click("#take", "taken")
    assert page.locator(".flash-success").count() == 1
    taken = _status(to_answer.id)
    assert taken.assigned_to_id == officer.id and taken.status == Status.IN_PROGRESS

    # Answer from the template, read the preview, publish.
    choose("#template", template_id)
    click("#answer form[method=get] [type=submit]", "template-filled")
    box = "#english" if lang == "en" else "#chinese"
    assert to_answer.reference in page.locator(box).input_value()
    if keyboard:
        page.keyboard.press("a")  # the shortcut to the answer box
        assert page.evaluate("document.activeElement.id") == "english"
        page.keyboard.press("Control+End")
        page.keyboard.type("\n\nWe will write again here by the end of the month.")
        journey.tab_to(page, "#answer form[method=post] [name=preview]")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        journey.look(page, "answer-preview")
    else:
        click("#answer form[method=post] [name=preview]", "answer-preview")
    preview = page.locator("#answer .preview")
    assert to_answer.reference in preview.inner_text()
    assert preview.locator("li").count() == 2  # the Markdown list, rendered
    assert _status(to_answer.id).status == Status.IN_PROGRESS  # taken; a preview publishes nothing
    if keyboard:
        # The shortcut to the answer box again, then Tab to "Publish, then open the next view".
        page.keyboard.press("a")
        journey.tab_to(page, "[name=submit_next]")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        journey.look(page, "answered-next-view")
        assert f"/bureau/submissions/{to_answer.id}" not in page.url
    else:
        click("#answer form[method=post] [name=submit]", "answered")
    assert page.locator(".flash-success").count() == 1
    answered = _status(to_answer.id)
    assert answered.status == Status.ANSWERED
    assert to_answer.reference in (answered.answers[0].body + (answered.answers[0].translation or ""))

    # A whole campaign at once, from one of its copies: preview, confirm, publish.
    copies = bureau_inbox["campaign"]
    find(copies[0].reference, "campaign-copy")
    click("main a[href*='/bureau/answer-many?campaign=']", "answer-many")
    assert all(c.reference in page.locator("main table").inner_text() for c in copies)
    fill(box, CAMPAIGN_ANSWER[lang])
    click("main form[method=post] [name=preview]", "answer-many-preview")
    assert CAMPAIGN_ANSWER[lang][:20] in page.locator(".preview").inner_text()
    assert [_status(c.id).status for c in copies] == [Status.ROUTED] * 3
    tick("#confirm")
    click("main form[method=post] [name=submit]", "answer-many-done")
    done = page.locator("main [role=status]").inner_text()
    assert ("3 views answered" if lang == "en" else "3") in done, done
    assert [_status(c.id).status for c in copies] == [Status.ANSWERED] * 3

    # A view for another bureau goes back to the moderators, with the reason and a suggestion.
    not_ours = bureau_inbox["not_ours"]
    find(not_ours.reference, "item-not-ours")
    fill("#reason", "This is about clinics, for the Health Bureau.")
    choose("#suggested_bureau", OTHER_BUREAU)
    click("form[action$='/send-back'] [type=submit]", "sent-back")
    assert page.locator(".flash-success").count() == 1
    sent_back = _status(not_ours.id)
    assert sent_back.status == Status.NEEDS_REVIEW and sent_back.suggested_bureau_code == OTHER_BUREAU

    # A second bureau invited to answer a view jointly.
    to_share = bureau_inbox["to_share"]
    find(to_share.reference, "item-to-share")
    choose("form[action$='/invite'] #bureau", OTHER_BUREAU)
    click("form[action$='/invite'] [type=submit]", "invited")
    assert page.locator(".flash-success").count() == 1
    assert [p.bureau_code for p in _status(to_share.id).partners] == [OTHER_BUREAU]

    # A view closed with a public note, once the box confirming it is ticked.
    to_close = bureau_inbox["to_close"]
    find(to_close.reference, "item-to-close")
    fill("#note", "The board was repaired; nothing more is needed. Thank you for telling us.")
    tick("#confirm")
    click("form[action$='/close'] [type=submit]", "closed")
    assert page.locator(".flash-success").count() == 1
    closed = _status(to_close.id)
    assert closed.status == Status.CLOSED and closed.closing_note.startswith("The board was repaired")

    # The inbox's tabs; another bureau's view, not by its reference nor by its address; the dashboard.
    journey.open(page, "/bureau/?tab=closed", "tab-closed")
    assert "tab=closed" in page.locator("nav.tabs a[aria-current=page]").get_attribute("href")
    assert to_close.reference in page.locator("main").inner_text() or page.locator("nav.pager a[rel=next]").count()
    click("nav.tabs a[href*='tab=sent_back']", "tab-sent-back")
    assert "tab=sent_back" in page.locator("nav.tabs a[aria-current=page]").get_attribute("href")
    elsewhere = bureau_inbox["elsewhere"]
    find(elsewhere.reference, "other-bureau-by-reference")
    assert page.locator(".flash-error").count() == 1
    assert elsewhere.body not in page.content()
    click("main a[href$='/bureau/dashboard']", "dashboard")
    assert page.locator("#summary-h").count() == 1
    journey.open(page, f"/bureau/submissions/{elsewhere.id}", "other-bureau-by-address", status=404)


@pytest.fixture
def administrator(served_app):
    """An administrator who enrolled an authenticator some time ago (no code used recently)."""
    admin = staff(Role.ADMIN)
    secret = two_factor.pending_secret(admin.id)
    assert two_factor.enable(admin.id, pyotp.TOTP(secret).now())
    db.session.execute(update(User).where(User.id == admin.id).values(totp_last_step=None))
    db.session.commit()
    return admin


def test_admin_signs_in_with_two_steps_and_manages_an_account(journey_factory, administrator, lang, viewport):
    journey = journey_factory("4-admin")
    page = journey.new_page()
    journey.sign_in(page, administrator.email, PASSWORD)

    page.locator("header a[href$='/admin/users']").click()
    journey.look(page, "accounts")
    # Routing quality, one tab away: how often live routes were undone, per bureau.
    page.locator("nav.tabs a[href$='/admin/routing']").click()
    journey.look(page, "routing-quality")
    assert page.locator("h1").count() == 1
    # Classifier versions: retraining is handed to the worker beside the server, and its
    # progress shows on the page (once per server: a training takes the worker a while).
    page.locator("nav.tabs a[href$='/admin/classifier']").click()
    journey.look(page, "classifier-versions")
    if (lang, viewport) in (("en", "desktop"), ("zh_Hant", "phone")) and not page.locator("#training-runs li").count():
        page.locator("form[action$='/classifier/retrain'] [type=submit]").click()
        journey.look(page, "retraining-started")
        assert page.locator(".flash-success").count() == 1
        assert page.locator("#training-runs li").count() == 1
    # The mail outbox, a tab away: what waits, what was sent, what failed.
    page.locator("nav.tabs a[href$='/admin/outbox']").click()
    journey.look(page, "mail-outbox")
    assert page.locator("h1").count() == 1
    page.locator("nav.tabs[aria-label] a[href*='status=sent']").click()
    journey.look(page, "mail-outbox-sent")
    page.locator("nav.tabs a[href$='/admin/users']").click()
    page.locator("main a[href$='/admin/users/new']").click()
    journey.look(page, "new-account")

    # A new bureau officer, with a password generated and shown once.
    email = f"new-officer-{lang}-{viewport}@example.org".lower().replace("_", "-")
    page.fill("#email", email)
    page.fill("#display_name", "Chan Tai Man")
    page.select_option("#role", "officer")
    page.select_option("#bureau", "TLB")
    page.check("#generate_password")
    page.locator("main form [type=submit]").click()
    journey.look(page, "password-shown")
    assert len(page.locator("#generated-password").inner_text().strip()) >= 12
    # With the enrolment link the new officer sets up two-step sign-in through, shown once too.
    assert "/account/enrol/" in page.locator("#enrolment-link").inner_text()

    page.locator("main a[href*='/admin/users/']").click()
    journey.look(page, "account")
    page.select_option("#role", "moderator")
    page.locator("form[action$='/role'] [type=submit]").click()
    journey.look(page, "role-changed")
    assert page.locator(".flash-success").count() == 1

    # Deactivating asks for a tick first: sent without it, the form says so and nothing changes.
    page.locator("form[action$='/deactivate'] [type=submit]").click()
    journey.look(page, "deactivate-unconfirmed")
    assert page.locator(".error-summary").is_visible() and page.locator("form[action$='/reactivate']").count() == 0
    page.locator("form[action$='/deactivate'] input[type=checkbox]").check()
    page.locator("form[action$='/deactivate'] [type=submit]").click()
    journey.look(page, "deactivated")
    assert page.locator(".flash-success").count() == 1
    assert page.locator("form[action$='/reactivate']").count() == 1
    # The account's history: created, enrolment link issued, role changed (with what changed),
    # deactivated.
    assert page.locator("ol.history > li").count() == 4
    assert page.locator("ol.history ul.diff li").count() >= 1

    # The account is found again by its address, shown as deactivated.
    journey.open(page, "/admin/users", "accounts-again")
    page.fill("#q", email)
    page.select_option("#active", "0")
    page.locator("form[role=search] [type=submit]").click()
    journey.look(page, "accounts-found")
    assert page.locator(f"main a:has-text('{email}')").count() == 1
