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
    assert page.locator("svg.chart").count() == 2 and page.locator("main table").count() >= 2


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


@pytest.fixture
def bureau_inbox(served_app):
    """An officer of the initiative's lead bureau, two views routed there, one routed elsewhere."""
    initiative = catalogue.get_initiative(INITIATIVE)
    moderator = staff(Role.MODERATOR)
    officer = staff(Role.OFFICER, initiative.lead_bureau_code)
    return {
        "officer": officer,
        "to_answer": routed_to(
            send_view(
                "Could the arrival boards also show when a bus is full, so we can wait for the next one?",
                initiative,
            ),
            initiative.lead_bureau_code,
            moderator,
        ),
        "not_ours": routed_to(
            send_view(
                "The clinic next to the bus terminus has no queue information online; this is not about buses.",
                initiative,
            ),
            initiative.lead_bureau_code,
            moderator,
        ),
        "elsewhere": routed_to(
            send_view(
                "Please publish the waiting times of general out-patient clinics on the same app.",
                initiative,
            ),
            OTHER_BUREAU,
            moderator,
        ),
    }


def test_officer_answers_sends_one_back_and_cannot_reach_another_bureau(journey_factory, bureau_inbox, lang):
    journey = journey_factory("3-officer")
    page = journey.new_page()
    journey.sign_in(page, bureau_inbox["officer"].email, PASSWORD)
    assert page.url.endswith("/bureau/")
    journey.look(page, "inbox")
    assert (
        bureau_inbox["to_answer"].reference in page.locator("main").inner_text()
        or page.locator("nav.pager a[rel=next]").count()
    )

    def find(reference: str, step: str) -> None:
        if not page.locator("#reference").count():
            page.locator("header a[href$='/bureau/']").click()
            journey.look(page, f"inbox-before-{step}")
        page.fill("#reference", reference)
        page.locator("form.find-reference [type=submit]").click()
        journey.look(page, step)

    # An answer of spaces and one letter is refused, and what was typed stays.
    find(bureau_inbox["to_answer"].reference, "item")
    page.fill("#body", "         a")
    page.locator("form[action$='/answer'] [type=submit]").click()
    journey.look(page, "answer-too-short")
    assert page.locator(".error-summary").is_visible()
    assert page.locator("#body").input_value().strip() == "a"
    answer = {
        "en": "Thank you. We will ask the operators whether the boards can show how full a bus is.",
        "zh_Hant": "謝謝你的意見。我們會與營辦商研究顯示屏能否顯示巴士的載客情況。",
        "zh_Hans": "谢谢你的意见。我们会与营办商研究显示屏能否显示巴士的载客情况。",
    }[lang]
    page.fill("#body", answer)
    page.locator("form[action$='/answer'] [type=submit]").click()
    journey.look(page, "answered")
    assert page.locator(".flash-success").count() == 1
    assert _status(bureau_inbox["to_answer"].id).status == Status.ANSWERED

    # A view for another bureau goes back to the moderators, with the reason.
    find(bureau_inbox["not_ours"].reference, "item-not-ours")
    page.fill("#reason", "This is about clinics, for the Health Bureau.")
    page.locator("form[action$='/send-back'] [type=submit]").click()
    journey.look(page, "sent-back")
    assert page.locator(".flash-success").count() == 1
    assert _status(bureau_inbox["not_ours"].id).status == Status.NEEDS_REVIEW

    # Another bureau's view: not by its address, not by its reference.
    journey.open(page, f"/bureau/submissions/{bureau_inbox['elsewhere'].id}", "other-bureau-by-address", status=404)
    find(bureau_inbox["elsewhere"].reference, "other-bureau-by-reference")
    assert page.locator(".flash-error").count() == 1
    assert bureau_inbox["elsewhere"].body not in page.content()


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
