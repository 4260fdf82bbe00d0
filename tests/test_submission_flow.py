"""The whole life of a view: a resident submits, it is routed, a moderator triages, a bureau answers."""

import re

from sqlalchemy import func, select

from feedback_app.extensions import db
from feedback_app.kernel.models import Answer, AuditEvent, Status, Submission, Visibility

from . import factories
from .conftest import csrf_token

REF_RE = re.compile(r"SCF-\d{4}-\d{6}")


def _submit_via_form(browser, initiative, body, **extra):
    return browser.submit_form(
        f"/initiatives/{initiative.code}/views/new", {"initiative": initiative.code, "body": body, **extra}
    )


def test_resident_browses_areas_and_initiatives(client):
    home = client.get("/").get_data(as_text=True)
    for name in (
        "Smart Mobility",
        "Smart Living",
        "Smart Environment",
        "Smart People",
        "Smart Government",
        "Smart Economy",
    ):
        assert name in home
    assert client.get("/areas/covid").status_code == 200
    initiative = factories.initiative()
    area_page = client.get(f"/areas/{initiative.area_code}").get_data(as_text=True)
    assert initiative.title_en in area_page
    page = client.get(f"/initiatives/{initiative.code}").get_data(as_text=True)
    assert initiative.summary_en in page
    assert "No views on this initiative have been published yet" in page


def test_resident_submits_and_gets_reference_and_tracking_link(browser):
    initiative = factories.initiative()
    response = _submit_via_form(
        browser, initiative, factories.TRANSPORT_VIEW, name="Chan Tai Man", email="chan@example.org"
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Your view has been received" in html
    reference = REF_RE.search(html).group(0)
    sub = db.session.execute(select(Submission).where(Submission.reference == reference)).scalar_one()
    assert sub.name == "Chan Tai Man" and sub.email == "chan@example.org"
    assert sub.initiative_id == initiative.id
    # The tracking link (the page we landed on) shows the status history to anyone holding it.
    tracking_url = response.request.path
    again = browser.client.get(tracking_url).get_data(as_text=True)
    assert reference in again and "View received" in again
    # A wrong token shows nothing.
    assert browser.client.get(f"/track/{reference}/not-the-token").status_code == 404


def test_confident_view_is_routed_straight_to_the_bureau(app):
    sub = factories.submission()
    assert sub.predicted_bureau_code == "TLB"
    assert sub.predicted_area_code == "mobility"
    assert 0 < sub.predicted_bureau_p <= 1 and 0 < sub.predicted_area_p <= 1
    assert sub.classifier_version_id is not None
    assert sub.status == Status.ROUTED and sub.bureau_code == "TLB"


def test_uncertain_view_waits_in_the_queue(app):
    app.config["ROUTING_BUREAU_THRESHOLD"] = 1.01  # nothing is ever this confident
    sub = factories.submission()
    assert sub.status == Status.NEEDS_REVIEW
    assert sub.bureau_code is None
    assert sub.predicted_bureau_code == "TLB"  # the prediction is still kept for the moderator


def test_whole_life_submit_moderate_answer_publish(app, browser, moderator, officer):
    app.config["ROUTING_BUREAU_THRESHOLD"] = 1.01
    initiative = factories.initiative()
    response = _submit_via_form(browser, initiative, factories.TRANSPORT_VIEW + " Call me on 9123 4567.")
    tracking_url = response.request.path
    sub = db.session.execute(select(Submission)).scalar_one()
    assert sub.status == Status.NEEDS_REVIEW

    # The moderator finds it in the queue, opens it, sees the prediction, confirms the route and publishes.
    browser.login(moderator.email)
    queue = browser.client.get("/moderation/queue").get_data(as_text=True)
    assert sub.reference in queue
    item = browser.client.get(f"/moderation/submissions/{sub.id}").get_data(as_text=True)
    assert "TLB" in item and "mobility" in item
    done = browser.submit_form(
        f"/moderation/submissions/{sub.id}",
        {"area": "mobility", "bureau": "TLB", "version": sub.version},
        action=f"/moderation/submissions/{sub.id}/route",
    )
    assert "The view has been routed." in done.get_data(as_text=True)
    # The history reads as what changed, in words: before → after.
    assert "Status: Waiting for review → Sent to bureau" in done.get_data(as_text=True)
    assert "Bureau: — → Transport and Logistics Bureau" in done.get_data(as_text=True)
    db.session.expire_all()
    sub = db.session.get(Submission, sub.id)
    browser.submit_form(
        f"/moderation/submissions/{sub.id}",
        {"visibility": "published", "version": sub.version},
        action=f"/moderation/submissions/{sub.id}/visibility",
    )
    browser.logout()

    # The officer of the bureau answers publicly.
    browser.login(officer.email)
    inbox = browser.client.get("/bureau/").get_data(as_text=True)
    assert sub.reference in inbox
    answer_text = "Thank you. The Transport Department will review the frequency of route 960 this year."
    done = browser.submit_form(
        f"/bureau/submissions/{sub.id}", {"english": answer_text}, action=f"/bureau/submissions/{sub.id}/answer"
    )
    assert "Your answer is published with the view." in done.get_data(as_text=True)
    browser.logout()

    db.session.expire_all()
    sub = db.session.get(Submission, sub.id)
    assert sub.status == Status.ANSWERED and sub.visibility == Visibility.PUBLISHED
    # The public page shows the view (redacted) with the answer; the resident's link shows the answer too.
    public = browser.client.get(f"/initiatives/{initiative.code}").get_data(as_text=True)
    assert "route 960" in public and answer_text in public
    assert "9123 4567" not in public and "[PHONE]" in public
    tracking = browser.client.get(tracking_url).get_data(as_text=True)
    assert answer_text in tracking and "Answered by the bureau" in tracking

    # Every step left an audit event with who, what, before and after.
    actions = [
        e.action
        for e in db.session.execute(
            select(AuditEvent).where(AuditEvent.submission_id.is_not(None)).order_by(AuditEvent.id)
        ).scalars()
    ]
    assert actions == ["submitted", "queued_for_review", "route_confirmed", "visibility_published", "answered"]
    submitted = db.session.execute(select(AuditEvent).where(AuditEvent.action == "submitted")).scalar_one()
    assert submitted.before == {} and submitted.after["status"] == "received"
    answered = db.session.execute(select(AuditEvent).where(AuditEvent.action == "answered")).scalar_one()
    assert answered.actor_id == officer.id
    assert answered.before == {"status": "routed"} and answered.after == {"status": "answered"}


def test_moderator_changes_route_and_rejects(app, browser, moderator):
    app.config["ROUTING_BUREAU_THRESHOLD"] = 1.01
    first = factories.submission()
    second = factories.submission("Buy cheap watches at www.example.com now, best prices, fast delivery!!!")
    browser.login(moderator.email)
    browser.submit_form(
        f"/moderation/submissions/{first.id}",
        {"area": "living", "bureau": "HB", "version": first.version},
        action=f"/moderation/submissions/{first.id}/route",
    )
    browser.submit_form(
        f"/moderation/submissions/{second.id}",
        {"reason": "spam", "note": "advert", "version": second.version},
        action=f"/moderation/submissions/{second.id}/reject",
    )
    db.session.expire_all()
    first, second = db.session.get(Submission, first.id), db.session.get(Submission, second.id)
    assert (first.status, first.bureau_code, first.area_code) == (Status.ROUTED, "HB", "living")
    assert second.status == Status.REJECTED and second.rejection_reason == "spam"
    changed = db.session.execute(select(AuditEvent).where(AuditEvent.action == "route_changed")).scalar_one()
    assert changed.actor_id == moderator.id and changed.after["bureau"] == "HB"
    rejected = db.session.execute(select(AuditEvent).where(AuditEvent.action == "rejected")).scalar_one()
    assert rejected.after["rejection_reason"] == "spam" and rejected.reason == "advert"


def test_stale_decision_is_refused(app, browser, moderator):
    app.config["ROUTING_BUREAU_THRESHOLD"] = 1.01
    sub = factories.submission()
    stale_version = sub.version
    browser.login(moderator.email)
    browser.submit_form(
        f"/moderation/submissions/{sub.id}",
        {"area": "mobility", "bureau": "TLB", "version": stale_version},
        action=f"/moderation/submissions/{sub.id}/route",
    )
    response = browser.submit_form(
        f"/moderation/submissions/{sub.id}",
        {"area": "living", "bureau": "HB", "version": stale_version},
        action=f"/moderation/submissions/{sub.id}/route",
    )
    assert "Someone else decided on this view first" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Submission, sub.id).bureau_code == "TLB"


def test_queue_filters_and_pages_oldest_first(app, browser, moderator):
    app.config["ROUTING_BUREAU_THRESHOLD"] = 1.01
    app.config["PAGE_SIZE"] = 2
    subs = [factories.submission() for _ in range(3)]
    browser.login(moderator.email)
    first_page = browser.client.get("/moderation/queue").get_data(as_text=True)
    assert subs[0].reference in first_page and subs[1].reference in first_page
    assert subs[2].reference not in first_page
    assert first_page.index(subs[0].reference) < first_page.index(subs[1].reference)
    second_page = browser.client.get(f"/moderation/queue?after={subs[1].id}").get_data(as_text=True)
    assert subs[2].reference in second_page and subs[0].reference not in second_page
    assert subs[0].reference in browser.client.get("/moderation/queue?bureau=TLB&area=mobility").get_data(as_text=True)
    assert "No views match these filters." in browser.client.get("/moderation/queue?bureau=HB").get_data(as_text=True)


def test_queue_finds_routed_views_still_waiting_for_publication(app, browser, moderator):
    routed = factories.submission()
    assert routed.status == Status.ROUTED
    browser.login(moderator.email)
    waiting = browser.client.get("/moderation/queue?status=routed&visibility=pending").get_data(as_text=True)
    assert routed.reference in waiting
    browser.submit_form(
        f"/moderation/submissions/{routed.id}",
        {"visibility": "published", "version": routed.version},
        action=f"/moderation/submissions/{routed.id}/visibility",
    )
    waiting = browser.client.get("/moderation/queue?status=routed&visibility=pending").get_data(as_text=True)
    assert routed.reference not in waiting and "No views match these filters." in waiting
    published = browser.client.get("/moderation/queue?status=routed&visibility=published").get_data(as_text=True)
    assert routed.reference in published


def test_officer_sends_back_and_closes(app, browser, officer):
    sent_back, closed = factories.submission(), factories.submission()
    assert sent_back.status == closed.status == Status.ROUTED
    browser.login(officer.email)
    browser.submit_form(
        f"/bureau/submissions/{sent_back.id}",
        {"reason": "This is about housing, not transport."},
        action=f"/bureau/submissions/{sent_back.id}/send-back",
    )
    browser.submit_form(
        f"/bureau/submissions/{closed.id}",
        {"note": "Handled by phone with the resident.", "confirm": "y"},
        action=f"/bureau/submissions/{closed.id}/close",
    )
    db.session.expire_all()
    back = db.session.get(Submission, sent_back.id)
    assert back.status == Status.NEEDS_REVIEW and back.bureau_code is None
    assert db.session.get(Submission, closed.id).status == Status.CLOSED
    # Sent back, it no longer belongs to the bureau: the bureau reads it while it waits for a
    # moderator, and can do nothing with it.
    page = browser.client.get(f"/bureau/submissions/{sent_back.id}").get_data(as_text=True)
    assert "Your bureau sent this view back." in page and "/answer" not in page and "/close" not in page
    answer = browser.client.post(
        f"/bureau/submissions/{sent_back.id}/answer", data={"csrf_token": csrf_token(page), "english": "Too late now."}
    )
    assert answer.status_code == 302 and db.session.get(Submission, sent_back.id).answers == []
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "sent_back")).scalar_one()
    assert event.reason == "This is about housing, not transport." and event.actor_id == officer.id


def test_empty_answer_is_refused_and_nothing_is_written(app, browser, officer):
    sub = factories.submission()
    browser.login(officer.email)
    response = browser.submit_form(
        f"/bureau/submissions/{sub.id}",
        {"english": "  ", "chinese": "\u3000 "},
        action=f"/bureau/submissions/{sub.id}/answer",
    )
    assert response.status_code == 400
    assert "Please write the answer in English, in Chinese, or in both." in response.get_data(as_text=True)
    assert db.session.execute(select(func.count()).select_from(Answer)).scalar_one() == 0


def test_staff_pages_show_names_not_codes(app, browser, moderator):
    app.config["ROUTING_BUREAU_THRESHOLD"] = 1.01
    sub = factories.submission()
    from feedback_app.intake import services as intake

    general = intake.submit(
        intake.NewSubmission(
            body="Please plant more trees along the cycle tracks in the New Territories.",
            language="en",
            topic_area="environment",
        )
    )
    browser.login(moderator.email)
    queue = browser.client.get("/moderation/queue").get_data(as_text=True)
    assert "Smart Mobility" in queue and "Transport and Logistics Bureau" in queue
    assert "General view on Smart Environment" in queue
    assert not re.search(r">\s*(mobility|environment)\s", queue) and " TLB " not in queue
    item = browser.client.get(f"/moderation/submissions/{sub.id}").get_data(as_text=True)
    assert "lead bureau: Transport and Logistics Bureau" in item
    assert general.reference in queue


def test_history_shows_only_real_changes(app, browser, moderator):
    sub = factories.submission()
    assert (sub.status, sub.bureau_code) == (Status.ROUTED, "TLB")
    browser.login(moderator.email)
    # Confirming the route it already has: recorded, but nothing changed.
    done = browser.submit_form(
        f"/moderation/submissions/{sub.id}",
        {"area": sub.area_code, "bureau": "TLB", "version": sub.version},
        action=f"/moderation/submissions/{sub.id}/route",
    )
    html = done.get_data(as_text=True)
    assert "Route confirmed by a moderator" in html
    assert (
        "Transport and Logistics Bureau → Transport and Logistics Bureau" not in html
        and "Sent to bureau → Sent to bureau" not in html
    )
    assert "Bureau: — → Transport and Logistics Bureau" in html  # the first routing did change it
