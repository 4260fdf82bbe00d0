"""A bureau's workspace, as officers use it: take, note, answer (from a template, for many, jointly),
send back, close and reopen; the inbox's tabs, counts, filters and pages; deadlines in working days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import holidays
import pytest
from sqlalchemy import func, select

from feedback_app.bureau import inbox, services
from feedback_app.extensions import db
from feedback_app.kernel import deadlines, public, workflow
from feedback_app.kernel.models import (
    Answer,
    AnswerTemplate,
    AuditAction,
    AuditEvent,
    BureauNote,
    Role,
    Status,
    Submission,
    Visibility,
)
from feedback_app.moderation import services as moderation

from . import factories
from .conftest import csrf_token


def _count(model) -> int:
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def _fresh(sub_id: int) -> Submission:
    db.session.expire_all()
    return db.session.get(Submission, sub_id)


def _post(browser, sub_id: int, action: str, data: dict):
    return browser.submit_form(f"/bureau/submissions/{sub_id}", data, action=f"/bureau/submissions/{sub_id}/{action}")


# -- deadlines ---------------------------------------------------------------------------------


def test_working_days_skip_weekends_and_hong_kong_holidays():
    hk = holidays.country_holidays("HK", years=2026)
    christmas = [d for d in hk if d.month == 12 and d.day in (25, 26)]
    assert christmas, "the calendar knows Christmas in Hong Kong"
    # Wednesday 23 December 2026: Thursday 24 works; 25 (Fri) is a holiday, 26-27 a weekend,
    # and the Monday after Christmas is a holiday when the 26th falls on a Saturday.
    start = date(2026, 12, 23)
    expected, day, left = None, start, 3
    while left:
        day += timedelta(days=1)
        if day.weekday() < 5 and day not in hk:
            left -= 1
    expected = day
    assert deadlines.add_working_days(start, 3) == expected
    assert expected > date(2026, 12, 28)  # more than three calendar days later


def test_an_answer_is_due_at_the_end_of_the_last_working_day_hong_kong_time():
    routed = datetime(2026, 11, 30, 20, 0, tzinfo=UTC)  # 04:00 on 1 December in Hong Kong
    due = deadlines.due_at(routed, 1)
    local = due.astimezone(deadlines.HONG_KONG)
    assert (local.date(), local.hour, local.minute) == (date(2026, 12, 2), 23, 59)


def test_routing_starts_the_clock_and_the_inbox_marks_overdue_views(app, browser, officer):
    sub = factories.submission()
    assert sub.status == Status.ROUTED and sub.routed_at is not None
    assert sub.due_at == deadlines.due_at(sub.routed_at, 10)
    late = factories.submission(factories.TRANSPORT_VIEW + " Again, please.")
    late.due_at = datetime.now(UTC) - timedelta(days=1)
    db.session.commit()
    browser.login(officer.email)
    page = browser.client.get("/bureau/").get_data(as_text=True)
    assert "1 view is overdue" in page
    overdue_only = browser.client.get("/bureau/?tab=all&overdue=y").get_data(as_text=True)
    assert late.reference in overdue_only and sub.reference not in overdue_only


# -- the inbox ---------------------------------------------------------------------------------


def test_tabs_count_and_list_by_state_soonest_due_first(app, officer):
    other = factories.user(Role.OFFICER, bureau="TLB")
    subs = [factories.submission(f"{factories.TRANSPORT_VIEW} Number {i}.") for i in range(5)]
    for i, sub in enumerate(subs):
        sub.due_at = datetime(2027, 1, 10 - i, tzinfo=UTC)
    db.session.commit()
    services.assign(officer, subs[0].id, officer.id)
    services.assign(officer, subs[1].id, other.id)
    services.answer(officer, subs[2].id, services.AnswerText("Thank you, we will look at it.", None))
    now = datetime.now(UTC)
    counts = inbox.counts("TLB", officer.id, now=now)
    assert counts.tabs[inbox.Tab.NEW] == 2
    assert counts.tabs[inbox.Tab.MINE] == 1
    assert counts.tabs[inbox.Tab.IN_PROGRESS] == 2
    assert counts.tabs[inbox.Tab.ANSWERED] == 1
    assert counts.tabs[inbox.Tab.ALL] == 5
    page = inbox.page(inbox.InboxFilter(tab=inbox.Tab.NEW), "TLB", officer.id, after=None, size=10, now=now)
    assert [r.id for r in page.items] == [subs[4].id, subs[3].id]  # soonest due first
    first = inbox.page(inbox.InboxFilter(tab=inbox.Tab.ALL), "TLB", officer.id, after=None, size=2, now=now)
    second = inbox.page(
        inbox.InboxFilter(tab=inbox.Tab.ALL), "TLB", officer.id, after=first.next_after, size=2, now=now
    )
    third = inbox.page(
        inbox.InboxFilter(tab=inbox.Tab.ALL), "TLB", officer.id, after=second.next_after, size=2, now=now
    )
    listed = [r.id for p in (first, second, third) for r in p.items]
    assert listed == [s.id for s in reversed(subs)] and third.next_after is None
    newest = inbox.page(
        inbox.InboxFilter(tab=inbox.Tab.ALL, sort=inbox.Sort.NEWEST), "TLB", officer.id, after=None, size=10, now=now
    )
    assert [r.id for r in newest.items] == sorted((s.id for s in subs), reverse=True)
    mine = inbox.page(inbox.InboxFilter(tab=inbox.Tab.MINE), "TLB", officer.id, after=None, size=10, now=now)
    assert [r.id for r in mine.items] == [subs[0].id]
    nobody = inbox.page(
        inbox.InboxFilter(tab=inbox.Tab.ALL, assignee=inbox.NOBODY), "TLB", officer.id, after=None, size=10, now=now
    )
    assert {r.id for r in nobody.items} == {subs[2].id, subs[3].id, subs[4].id}


def test_the_inbox_searches_only_its_bureaus_views(app, browser, officer):
    ours = factories.submission(factories.TRANSPORT_VIEW + " Zebra crossings near Sham Shui Po.")
    browser.login(officer.email)
    found = browser.client.get("/bureau/?tab=all&text=zebra").get_data(as_text=True)
    assert ours.reference in found
    none = browser.client.get("/bureau/?tab=all&text=nosuchwordanywhere").get_data(as_text=True)
    assert "No views match these filters." in none


def test_a_campaign_is_listed_once_with_its_size_and_answered_at_once(app, browser, officer):
    app.config["CAMPAIGNS"] = True
    text = factories.TRANSPORT_VIEW
    copies = [factories.submission(text + suffix) for suffix in ("", " Thanks.", " Please!", " Soon.")]
    db.session.expire_all()
    campaign_ids = {db.session.get(Submission, c.id).campaign_id for c in copies}
    if campaign_ids == {None}:
        pytest.skip("the copies were not grouped into a campaign in this configuration")
    (campaign_id,) = campaign_ids
    browser.login(officer.email)
    page = browser.client.get("/bureau/?tab=new").get_data(as_text=True)
    assert sum(c.reference in page for c in copies) == 1
    assert "Campaign: 4 copies" in page
    form = browser.client.get(f"/bureau/answer-many?campaign={campaign_id}").get_data(as_text=True)
    assert all(c.reference in form for c in copies)
    data = {"csrf_token": csrf_token(form), "campaign": campaign_id, "english": "We will add trips on route 960."}
    previewed = browser.client.post("/bureau/answer-many", data={**data, "preview": "Preview"})
    assert previewed.status_code == 200 and "as the public will read it" in previewed.get_data(as_text=True)
    assert _count(Answer) == 0
    unconfirmed = browser.client.post("/bureau/answer-many", data={**data, "submit": "Publish answer"})
    assert unconfirmed.status_code == 400 and _count(Answer) == 0
    done = browser.client.post("/bureau/answer-many", data={**data, "submit": "Publish answer", "confirm": "y"})
    assert "4 views answered." in done.get_data(as_text=True)
    assert _count(Answer) == 4
    answered = db.session.execute(select(func.count()).where(AuditEvent.action == AuditAction.ANSWERED)).scalar_one()
    assert answered == 4  # one audit event each
    for c in copies:
        assert _fresh(c.id).status == Status.ANSWERED


def test_answering_ticked_views_names_those_changed_meanwhile(app, officer):
    a, b = factories.submission(), factories.submission(factories.TRANSPORT_VIEW + " Also at night.")
    services.close(officer, b.id, "Handled with the operator directly.")
    outcome = services.answer_many(
        officer, [(a.id, None), (b.id, None)], services.AnswerText("We have asked the operator.", None)
    )
    assert outcome.answered == [a.reference] and outcome.refused == [b.reference]


def test_more_than_the_limit_of_ticked_views_is_a_clear_error(app, browser, officer):
    sub = factories.submission()
    browser.login(officer.email)
    page = browser.client.get("/bureau/").get_data(as_text=True)
    ids = ",".join(str(sub.id + i) for i in range(services.MANY_LIMIT + 1))
    response = browser.client.post("/bureau/answer-many", data={"csrf_token": csrf_token(page), "ids": ids})
    assert response.status_code == 400
    assert f"At most {services.MANY_LIMIT} views can be answered at once" in response.get_data(as_text=True)


# -- working a view ----------------------------------------------------------------------------


def test_take_assign_and_the_timeline_names_the_assignee(app, browser, officer):
    colleague = factories.user(Role.OFFICER, bureau="TLB")
    elsewhere = factories.user(Role.OFFICER, bureau="HB")
    sub = factories.submission()
    browser.login(officer.email)
    _post(browser, sub.id, "take", {})
    assert _fresh(sub.id).assigned_to_id == officer.id and _fresh(sub.id).status == Status.IN_PROGRESS
    done = _post(browser, sub.id, "assign", {"assignee": colleague.id})
    assert f"Assigned to {colleague.display_name}." in done.get_data(as_text=True)
    assert f"{officer.display_name} → {colleague.display_name}" in done.get_data(as_text=True)
    # An officer of another bureau is no choice (404: not an officer here), and nothing changes.
    page = browser.client.get(f"/bureau/submissions/{sub.id}").get_data(as_text=True)
    refused = browser.client.post(
        f"/bureau/submissions/{sub.id}/assign", data={"csrf_token": csrf_token(page), "assignee": elsewhere.id}
    )
    assert refused.status_code in (400, 404) and _fresh(sub.id).assigned_to_id == colleague.id


def test_internal_notes_are_shown_to_officers_and_never_to_the_sender(app, browser, officer):
    sub = factories.submission()
    browser.login(officer.email)
    done = _post(browser, sub.id, "note", {"body": "Checked with KMB: the timetable changes in March."})
    html = done.get_data(as_text=True)
    assert "Checked with KMB: the timetable changes in March." in html and "Internal note" in html
    assert _count(BureauNote) == 1
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == AuditAction.NOTE_ADDED)).scalar_one()
    assert event.actor_id == officer.id and "KMB" not in str(event.after) and event.reason is None
    with app.test_request_context("/"):
        tracked = public.tracked(_fresh(sub.id))
    assert [e.action for e in tracked.history if e.action in workflow.INTERNAL_EVENTS] == []


def test_an_answer_from_a_template_is_filled_with_the_views_details(app, browser, officer):
    sub = factories.submission()
    browser.login(officer.email)
    saved = browser.submit_form(
        "/bureau/templates/new",
        {
            "title": "Thanks, under review",
            "body_en": "Thank you for view {reference} on {initiative}.",
            "body_zh": "多謝你就{initiative}提出的意見（{reference}）。",
        },
    )
    assert "The template is saved." in saved.get_data(as_text=True)
    template = db.session.execute(select(AnswerTemplate)).scalar_one()
    page = browser.client.get(f"/bureau/submissions/{sub.id}?template={template.id}").get_data(as_text=True)
    assert f"Thank you for view {sub.reference} on {sub.initiative.title_en}." in page
    assert f"多謝你就{sub.initiative.title_zh}提出的意見（{sub.reference}）。" in page


@pytest.mark.parametrize(
    "body, message", [("Dear {name},", "Unknown placeholder: {name}"), ("Ref {reference", "A brace is not closed")]
)
def test_a_template_with_an_unknown_placeholder_is_refused_with_the_known_ones(app, browser, officer, body, message):
    browser.login(officer.email)
    response = browser.submit_form("/bureau/templates/new", {"title": "Greeting", "body_en": body})
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and message in html and "{reference}" in html
    assert _count(AnswerTemplate) == 0


def test_a_view_routed_automatically_is_published_with_its_answer(app, browser, officer):
    sub = factories.submission()
    assert sub.visibility == Visibility.PENDING
    browser.login(officer.email)
    done = _post(browser, sub.id, "answer", {"english": "We will add trips.", "chinese": "我們會增加班次。"})
    assert "Your answer is published with the view." in done.get_data(as_text=True)
    fresh = _fresh(sub.id)
    assert fresh.visibility == Visibility.PUBLISHED and fresh.status == Status.ANSWERED
    answer = fresh.answers[0]
    assert (answer.language, answer.body, answer.translation) == ("en", "We will add trips.", "我們會增加班次。")
    assert [lang for lang, _text in answer.texts("zh_Hant")] == ["zh", "en"]


def test_a_view_a_moderator_routed_waits_for_the_moderators_publish_step(app, browser, officer, moderator):
    app.config["ROUTING_BUREAU_THRESHOLD"] = 1.01  # nothing routed automatically
    sub = factories.submission()
    assert sub.status == Status.NEEDS_REVIEW
    moderation.route(sub.id, area=sub.topic_area_code, bureau="TLB", actor=moderator, version=sub.version)
    browser.login(officer.email)
    done = _post(browser, sub.id, "answer", {"english": "We will add trips."})
    assert "It will be public when a moderator publishes the view." in done.get_data(as_text=True)
    assert _fresh(sub.id).visibility == Visibility.PENDING


def test_the_setting_makes_every_view_wait_for_a_moderator(app, officer):
    app.config["ANSWERS_WAIT_FOR_MODERATOR"] = True
    sub = factories.submission()
    result = services.answer(officer, sub.id, services.AnswerText("We will add trips.", None))
    assert result == services.Publication.AWAITS_MODERATOR and _fresh(sub.id).visibility == Visibility.PENDING


def test_send_back_names_a_bureau_the_moderator_sees_and_the_view_that_came_back_is_marked(
    app, browser, officer, moderator
):
    sub = factories.submission()
    browser.login(officer.email)
    _post(browser, sub.id, "send-back", {"reason": "About housing estates' bus stops: HB's.", "suggested_bureau": "HB"})
    back = _fresh(sub.id)
    assert back.status == Status.NEEDS_REVIEW and back.sent_back_by_code == "TLB"
    assert back.suggested_bureau_code == "HB"
    # The sender bureau reads it in its "sent back" tab while it waits.
    assert sub.reference in browser.client.get("/bureau/?tab=sent_back").get_data(as_text=True)
    moderation.route(back.id, area=back.topic_area_code, bureau="TLB", actor=moderator, version=back.version)
    page = browser.client.get(f"/bureau/submissions/{sub.id}").get_data(as_text=True)
    assert "Your bureau sent this view back once; a moderator routed it to you again." in page
    assert "Routed by the moderator" in page


def test_send_back_cannot_suggest_the_same_bureau(app, officer):
    sub = factories.submission()
    with pytest.raises(services.UnknownBureau):
        services.send_back(officer, sub.id, "Not ours.", "TLB")
    assert _fresh(sub.id).status == Status.ROUTED


def test_a_joint_view_gets_both_bureaus_parts(app, browser, officer, other_officer):
    sub = factories.submission()
    services.invite(officer, sub.id, "HB")
    browser.login(other_officer.email)
    joint = browser.client.get("/bureau/?tab=joint").get_data(as_text=True)
    assert sub.reference in joint
    page = browser.client.get(f"/bureau/submissions/{sub.id}").get_data(as_text=True)
    assert "invited your bureau to answer this view jointly" in page and "/close" not in page
    done = _post(browser, sub.id, "answer", {"english": "Housing estates' bus stops will get shelters."})
    assert done.status_code == 200
    services.answer(officer, sub.id, services.AnswerText("We will add trips on route 960.", None))
    parts = {a.bureau_code for a in _fresh(sub.id).answers}
    assert parts == {"TLB", "HB"}
    # The partner cannot close or send back the owner's view.
    with pytest.raises(workflow.TransitionNotAllowed):
        services.close(other_officer, sub.id, "Closing someone else's view.")


def test_closing_needs_a_public_note_and_a_confirmation(app, browser, officer):
    sub = factories.submission()
    browser.login(officer.email)
    unconfirmed = _post(browser, sub.id, "close", {"note": "Handled by phone with the resident."})
    assert unconfirmed.status_code == 400 and "Please tick the box to confirm." in unconfirmed.get_data(as_text=True)
    assert "Handled by phone with the resident." in unconfirmed.get_data(as_text=True)  # what was typed stays
    no_note = _post(browser, sub.id, "close", {"note": "", "confirm": "y"})
    assert no_note.status_code == 400 and _fresh(sub.id).status == Status.ROUTED
    done = _post(browser, sub.id, "close", {"note": "Handled by phone with the resident.", "confirm": "y"})
    assert done.status_code == 200
    closed = _fresh(sub.id)
    assert closed.status == Status.CLOSED and closed.closing_note == "Handled by phone with the resident."


def test_a_closed_view_can_be_reopened_within_30_days_only(app, officer):
    sub = factories.submission()
    services.close(officer, sub.id, "Handled by phone with the resident.")
    closed = _fresh(sub.id)
    assert workflow.Action.REOPEN_CLOSED in services.allowed(officer, closed)
    later = closed.closed_at + workflow.REOPEN_WITHIN + timedelta(minutes=1)
    assert workflow.Action.REOPEN_CLOSED not in workflow.allowed_actions(closed, Role.OFFICER, now=later)
    services.reopen(officer, sub.id)
    reopened = _fresh(sub.id)
    assert (reopened.status, reopened.assigned_to_id, reopened.closing_note) == (Status.IN_PROGRESS, officer.id, None)


def test_answer_then_open_the_next_view(app, browser, officer):
    first = factories.submission()
    second = factories.submission(factories.TRANSPORT_VIEW + " Route 961 too.")
    browser.login(officer.email)
    response = browser.submit_form(
        f"/bureau/submissions/{first.id}",
        {"english": "We will add trips.", "submit_next": "Publish, then open the next view"},
        action=f"/bureau/submissions/{first.id}/answer",
        follow_redirects=False,
    )
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/bureau/submissions/{second.id}")


def test_the_preview_shows_the_answer_as_the_public_will_read_it_masked_and_rendered(app, browser, officer):
    sub = factories.submission()
    browser.login(officer.email)
    response = _post(
        browser,
        sub.id,
        "answer",
        {
            "english": "Thank you.\n\n- More trips\n- Call Mr Chan on 9123 4567\n\n[Timetable](https://www.td.gov.hk/)",
            "preview": "Preview",
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "as the public will read it" in html
    preview = html.split("as the public will read it", 1)[1]
    assert "<li>More trips</li>" in preview and "9123 4567" not in preview.split("</section>")[0]
    assert 'rel="nofollow ugc noopener"' in preview
    assert "Call Mr Chan on 9123 4567" in html  # what was typed stays in the box
    assert _count(Answer) == 0  # a preview writes nothing


def test_a_closed_views_sender_and_the_public_read_the_closing_note_masked(app, client, officer):
    from feedback_app.intake import services as intake

    init = factories.initiative()
    receipt = intake.submit(
        intake.NewSubmission(
            body=factories.TRANSPORT_VIEW, language="en", topic_area=init.area_code, initiative_id=init.id
        )
    )
    services.answer(officer, receipt.submission_id, services.AnswerText("We have asked the operator.", None))
    services.close(officer, receipt.submission_id, "Done. Call 9123 4567 if it happens again.")
    page = client.get(f"/track/{receipt.reference}/{receipt.tracking_token}").get_data(as_text=True)
    assert "The bureau closed your view" in page and "Done. Call [PHONE] if it happens again." in page
    assert "9123 4567" not in page and "We have asked the operator." in page
    public_page = client.get(f"/views/{receipt.reference}")
    if public_page.status_code == 200:  # published with its answer (routed automatically, nothing found)
        html = public_page.get_data(as_text=True)
        assert "Closed by the bureau" in html and "9123 4567" not in html


def test_a_view_closed_without_an_answer_tells_its_sender_no_answer_follows(app, client, officer):
    from feedback_app.intake import services as intake

    init = factories.initiative()
    receipt = intake.submit(
        intake.NewSubmission(
            body=factories.TRANSPORT_VIEW, language="en", topic_area=init.area_code, initiative_id=init.id
        )
    )
    services.close(officer, receipt.submission_id, "Already handled in the route 960 review last month.")
    page = client.get(f"/track/{receipt.reference}/{receipt.tracking_token}").get_data(as_text=True)
    assert "No answer yet" not in page and "No further answer will follow." in page


def test_the_moderator_sees_who_sent_a_view_back_and_the_bureau_they_suggest(app, browser, officer, moderator):
    sub = factories.submission()
    services.send_back(officer, sub.id, "Bus stops in housing estates are for Housing.", "HB")
    browser.login(moderator.email)
    queue = browser.client.get("/moderation/queue").get_data(as_text=True)
    assert "Sent back by the Transport and Logistics Bureau, which suggests the Housing Bureau" in queue
    page = browser.client.get(f"/moderation/submissions/{sub.id}").get_data(as_text=True)
    assert "They suggest the Housing Bureau." in page
    assert "Bus stops in housing estates are for Housing." in page  # the reason, in the history


def test_a_reopened_view_is_due_a_whole_target_after_reopening(app, officer):
    sub = factories.submission()
    services.close(officer, sub.id, "Handled by phone with the resident.")
    services.reopen(officer, sub.id)
    reopened = _fresh(sub.id)
    assert reopened.due_at > datetime.now(UTC) + timedelta(days=9)  # ten working days: two weeks or more
