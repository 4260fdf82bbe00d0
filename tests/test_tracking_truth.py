"""The tracking page tells its sender the truth: why a view was not accepted, that a closed view
gets no further answer, where a campaign's answer is; a signed-in resident's form is filled in,
and a view sent without an account can be added to one by its link."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from feedback_app.bureau import services as bureau
from feedback_app.extensions import db
from feedback_app.intake import services as intake
from feedback_app.kernel.models import (
    AuditAction,
    AuditEvent,
    RejectionReason,
    Role,
    Status,
    Submission,
    User,
    Visibility,
)
from feedback_app.moderation import services as moderation

from . import factories
from .conftest import csrf_token

# What the sender reads for each reason (web/i18n.py: REJECTION_LABELS and REJECTION_EXPLANATIONS).
REASONS = {
    RejectionReason.SPAM: ("Spam", "It looked like advertising or a message sent by a program"),
    RejectionReason.ABUSIVE: ("Abusive", "It contained abusive or threatening language"),
    RejectionReason.OFF_TOPIC: ("Off-topic", "It was not about the Smart City Blueprint"),
    RejectionReason.DUPLICATE: ("Duplicate", "The same view had already been sent"),
}
NO_ANSWER_YET = "No answer yet"

CAMPAIGN = (
    "I object to the smart lampposts recording faces. The Government must publish what every sensor "
    "collects, who can see the data and how long it is kept, before any more lampposts are installed."
)


def _send(body: str = factories.TRANSPORT_VIEW) -> intake.Receipt:
    init = factories.initiative()
    return intake.submit(
        intake.NewSubmission(body=body, language="en", topic_area=init.area_code, initiative_id=init.id)
    )


def _tracking(receipt: intake.Receipt) -> str:
    return f"/track/{receipt.reference}/{receipt.tracking_token}"


def _page(client, receipt: intake.Receipt) -> str:
    response = client.get(_tracking(receipt))
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _fresh(sub_id: int) -> Submission:
    db.session.expire_all()
    return db.session.get(Submission, sub_id)


def _route_to_tlb(sub_id: int, moderator: User) -> None:
    sub = _fresh(sub_id)
    if sub.status != Status.ROUTED or sub.bureau_code != "TLB":
        moderation.route(sub.id, area=sub.topic_area_code, bureau="TLB", actor=moderator, version=sub.version)


# -- rejected --------------------------------------------------------------------------------


@pytest.mark.parametrize("reason", list(RejectionReason))
def test_a_rejected_view_says_why_in_plain_words_and_that_no_answer_follows(app, client, moderator, reason):
    app.config["ROUTING_BUREAU_THRESHOLD"] = 1.01  # it waits for a moderator
    receipt = _send()
    sub = _fresh(receipt.submission_id)
    moderation.reject(sub.id, reason=reason, note="internal: seen before", actor=moderator, version=sub.version)
    page = _page(client, receipt)
    label, explanation = REASONS[reason]
    assert f"Why: {label}." in page and explanation in page
    assert "no answer will follow" in page and NO_ANSWER_YET not in page
    assert "internal: seen before" not in page  # the moderator's note is not the sender's
    assert 'id="feedback"' not in page


def test_the_reason_is_given_in_the_readers_language(app, client, moderator):
    app.config["ROUTING_BUREAU_THRESHOLD"] = 1.01
    receipt = _send()
    sub = _fresh(receipt.submission_id)
    moderation.reject(sub.id, reason=RejectionReason.OFF_TOPIC, note=None, actor=moderator, version=sub.version)
    client.get("/language/zh_Hant")
    page = _page(client, receipt)
    assert "原因：與主題無關。" in page  # the category ("Off-topic"), in Traditional Chinese
    assert "Off-topic" not in page and NO_ANSWER_YET not in page


def test_a_reopened_view_no_longer_reads_as_rejected(app, client, moderator):
    app.config["ROUTING_BUREAU_THRESHOLD"] = 1.01
    receipt = _send()
    sub = _fresh(receipt.submission_id)
    moderation.reject(sub.id, reason=RejectionReason.SPAM, note=None, actor=moderator, version=sub.version)
    moderation.reopen(sub.id, note=None, actor=moderator, version=_fresh(sub.id).version)
    page = _page(client, receipt)
    assert "Why: Spam." not in page and NO_ANSWER_YET in page


# -- closed ----------------------------------------------------------------------------------


def test_a_view_closed_without_an_answer_shows_the_note_and_that_no_answer_follows(app, client, moderator, officer):
    receipt = _send()
    _route_to_tlb(receipt.submission_id, moderator)
    bureau.close(officer, receipt.submission_id, "Handled with the operator; the timetable changes in March.")
    page = _page(client, receipt)
    assert "The bureau closed your view" in page
    assert "Handled with the operator; the timetable changes in March." in page
    assert "No further answer will follow." in page
    assert NO_ANSWER_YET not in page and 'id="feedback"' not in page


def test_a_view_closed_after_its_answer_shows_both_and_asks_once(app, client, moderator, officer):
    receipt = _send()
    _route_to_tlb(receipt.submission_id, moderator)
    bureau.answer(officer, receipt.submission_id, bureau.AnswerText("We have asked the operator to add trips.", None))
    bureau.close(officer, receipt.submission_id, "Done: the timetable changed on 1 March.")
    page = _page(client, receipt)
    assert "We have asked the operator to add trips." in page
    assert "Done: the timetable changed on 1 March." in page and "No further answer will follow." in page
    assert NO_ANSWER_YET not in page and 'id="feedback"' in page


def test_a_view_still_with_its_bureau_has_no_answer_yet(app, client, moderator):
    receipt = _send()
    _route_to_tlb(receipt.submission_id, moderator)
    page = _page(client, receipt)
    assert NO_ANSWER_YET in page and "No further answer will follow." not in page


# -- a campaign's answer -------------------------------------------------------------------------


def test_a_campaign_copy_links_to_the_answer_given_to_the_campaign(app, client, moderator, officer):
    app.config["CAMPAIGNS"] = True
    answered, copy = _send(CAMPAIGN), _send("Dear Sir, " + CAMPAIGN + " Thank you.")
    campaign_id = _fresh(answered.submission_id).campaign_id
    assert campaign_id is not None and _fresh(copy.submission_id).campaign_id == campaign_id

    before = _page(client, copy)
    assert NO_ANSWER_YET in before and f"/views/{answered.reference}" not in before

    _route_to_tlb(answered.submission_id, moderator)
    bureau.answer(officer, answered.submission_id, bureau.AnswerText("Sensors on lampposts record no faces.", None))
    sub = _fresh(answered.submission_id)
    if sub.visibility != Visibility.PUBLISHED:
        moderation.set_visibility(sub.id, visibility=Visibility.PUBLISHED, actor=moderator, version=sub.version)

    page = _page(client, copy)
    assert f'href="/views/{answered.reference}"' in page and NO_ANSWER_YET not in page
    assert 'id="feedback"' not in page  # asked on the answered copy, not here
    public_page = client.get(f"/views/{answered.reference}").get_data(as_text=True)
    assert "Sensors on lampposts record no faces." in public_page
    # The answered copy itself shows its own answer and no link to itself.
    own = _page(client, answered)
    assert "Sensors on lampposts record no faces." in own and f'href="/views/{answered.reference}"' not in own


def test_an_answer_the_public_cannot_read_is_not_linked(app, client, moderator, officer):
    app.config["CAMPAIGNS"] = True
    answered, copy = _send(CAMPAIGN), _send("Dear Sir, " + CAMPAIGN + " Thank you.")
    _route_to_tlb(answered.submission_id, moderator)
    bureau.answer(officer, answered.submission_id, bureau.AnswerText("Sensors on lampposts record no faces.", None))
    sub = _fresh(answered.submission_id)
    if sub.visibility == Visibility.PUBLISHED:
        moderation.set_visibility(sub.id, visibility=Visibility.HIDDEN, actor=moderator, version=sub.version)
    page = _page(client, copy)
    assert f"/views/{answered.reference}" not in page and NO_ANSWER_YET in page


# -- a signed-in resident's form and confirmation -----------------------------------------------


def _verified_resident(email: str | None = None) -> User:
    user = factories.user(Role.RESIDENT, email=email)
    user.email_verified_at = datetime.now(UTC)
    db.session.commit()
    return user


def test_a_signed_in_residents_name_and_address_are_filled_in_and_can_be_changed(app, browser, login_as):
    resident = _verified_resident()
    login_as(resident)
    initiative = factories.initiative()
    form = browser.client.get(f"/initiatives/{initiative.code}/views/new").get_data(as_text=True)
    assert f'value="{resident.email}"' in form and f'value="{resident.display_name}"' in form
    response = browser.submit_form(
        f"/initiatives/{initiative.code}/views/new",
        {"initiative": initiative.code, "body": factories.TRANSPORT_VIEW, "name": "Chan", "email": "other@example.org"},
    )
    page = response.get_data(as_text=True)
    sub = db.session.execute(select(Submission).order_by(Submission.id.desc())).scalars().first()
    assert (sub.name, sub.email, sub.user_id) == ("Chan", "other@example.org", resident.id)
    assert "“My views”" in page and 'href="/account/views"' in page
    assert "the only way to follow your view" not in page


def test_a_visitor_and_staff_get_an_empty_form_and_the_link_is_the_only_way(app, browser, login_as, officer):
    initiative = factories.initiative()
    url = f"/initiatives/{initiative.code}/views/new"
    assert 'name="email" type="email" value=""' in browser.client.get(url).get_data(as_text=True)
    response = browser.submit_form(url, {"initiative": initiative.code, "body": factories.TRANSPORT_VIEW})
    assert "the only way to follow your view without an account" in response.get_data(as_text=True)
    login_as(officer)
    assert officer.email not in browser.client.get(url).get_data(as_text=True)


# -- a view added to an account ----------------------------------------------------------------


def _add(browser, receipt: intake.Receipt):
    page = browser.client.get(_tracking(receipt)).get_data(as_text=True)
    return browser.client.post(
        _tracking(receipt) + "/add-to-account", data={"csrf_token": csrf_token(page)}, follow_redirects=True
    )


def test_a_signed_in_resident_adds_a_view_sent_without_an_account(app, browser, login_as):
    receipt = _send()
    resident = _verified_resident()
    login_as(resident)
    page = browser.client.get(_tracking(receipt)).get_data(as_text=True)
    assert "Add this view to my account" in page
    response = _add(browser, receipt)
    assert response.status_code == 200 and response.request.path == _tracking(receipt)
    assert "This view is now in your account" in response.get_data(as_text=True)
    assert _fresh(receipt.submission_id).user_id == resident.id
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == AuditAction.VIEW_ATTACHED)).scalar_one()
    assert (event.submission_id, event.target_user_id) == (receipt.submission_id, resident.id)
    again = browser.client.get(_tracking(receipt)).get_data(as_text=True)
    assert "Add this view to my account" not in again and "This view is in your account" in again
    assert 'href="/account/views"' in again
    assert receipt.reference in browser.client.get("/account/views").get_data(as_text=True)  # listed in "My views"
    assert "already in your account" in _add_without_button(browser, receipt).get_data(as_text=True)


def _add_without_button(browser, receipt: intake.Receipt):
    """The button's POST sent anyway (a second tab, a script), with this session's CSRF token."""
    page = browser.client.get(f"/initiatives/{factories.initiative().code}/views/new").get_data(as_text=True)
    return browser.client.post(
        _tracking(receipt) + "/add-to-account", data={"csrf_token": csrf_token(page)}, follow_redirects=True
    )


def test_a_view_on_another_account_cannot_be_added(app, browser, login_as):
    receipt = _send()
    owner, other = _verified_resident(), _verified_resident()
    intake.attach(receipt.submission_id, owner)
    login_as(other)
    page = browser.client.get(_tracking(receipt)).get_data(as_text=True)
    assert "Add this view to my account" not in page and "This view is in another account" in page
    response = _add_without_button(browser, receipt)
    assert response.status_code == 200
    assert "already in another account, so it cannot be added to yours" in response.get_data(as_text=True)
    assert _fresh(receipt.submission_id).user_id == owner.id


def test_an_unconfirmed_address_must_be_confirmed_first(app, browser, login_as):
    receipt = _send()
    resident = factories.user(Role.RESIDENT)
    resident.email_verified_at = None
    db.session.commit()
    login_as(resident)
    page = browser.client.get(_tracking(receipt)).get_data(as_text=True)
    assert "Add this view to my account" not in page and "first confirm your e-mail address" in page
    assert "Please confirm your e-mail address first" in _add_without_button(browser, receipt).get_data(as_text=True)
    assert _fresh(receipt.submission_id).user_id is None


@pytest.mark.parametrize("role", [Role.OFFICER, Role.MODERATOR, Role.ADMIN])
def test_staff_see_no_button_and_cannot_add_a_view(app, browser, login_as, role):
    receipt = _send()
    user = factories.user(role, bureau="TLB" if role == Role.OFFICER else None)
    login_as(user)
    page = browser.client.get(_tracking(receipt)).get_data(as_text=True)
    assert "Add this view to my account" not in page and 'id="account"' not in page
    assert "not to a staff account" in _add_without_button(browser, receipt).get_data(as_text=True)
    assert _fresh(receipt.submission_id).user_id is None


def test_a_visitor_is_asked_to_sign_in(app, browser):
    receipt = _send()
    page = browser.client.get(_tracking(receipt)).get_data(as_text=True)
    assert "Add this view to my account" not in page
    assert "Please sign in" in _add_without_button(browser, receipt).get_data(as_text=True)
    assert _fresh(receipt.submission_id).user_id is None


def test_a_wrong_link_adds_nothing(app, browser, login_as):
    receipt = _send()
    login_as(_verified_resident())
    page = browser.client.get("/").get_data(as_text=True)
    response = browser.client.post(
        f"/track/{receipt.reference}/not-the-token/add-to-account", data={"csrf_token": csrf_token(page)}
    )
    assert response.status_code == 404 and _fresh(receipt.submission_id).user_id is None


def test_a_link_with_a_token_that_is_not_ours_is_not_found(app, browser):
    receipt = _send()
    page = browser.client.get(f"/initiatives/{factories.initiative().code}/views/new").get_data(as_text=True)
    for token in ("uaÖoÏ", "\u200f", "x" * 300):
        base = f"/track/{receipt.reference}/{token}"
        assert browser.client.get(base).status_code == 404
        for action in ("feedback", "add-to-account"):
            response = browser.client.post(f"{base}/{action}", data={"csrf_token": csrf_token(page), "verdict": "yes"})
            assert response.status_code == 404, (token, action)
