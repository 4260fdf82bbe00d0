""" "Did this answer your point?": asked once on the tracking page; the comment goes to the bureau
that owns the view, and the results are counted on its dashboard (per initiative too)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update

from feedback_app.bureau import dashboard
from feedback_app.bureau import services as bureau
from feedback_app.extensions import db
from feedback_app.intake import services as intake
from feedback_app.kernel.models import (
    AnswerFeedback,
    AuditAction,
    AuditEvent,
    Initiative,
    Role,
    Status,
    Submission,
    Verdict,
)
from feedback_app.moderation import services as moderation

from . import factories
from .conftest import csrf_token

ANSWER = "We have asked the operator to add morning trips on route 960 from March."


def _answered(moderator, officer, *, initiative: Initiative | None = None, body: str = factories.TRANSPORT_VIEW):
    init = initiative or factories.initiative()
    receipt = intake.submit(
        intake.NewSubmission(body=body, language="en", topic_area=init.area_code, initiative_id=init.id)
    )
    db.session.expire_all()
    sub = db.session.get(Submission, receipt.submission_id)
    if sub.status != Status.ROUTED or sub.bureau_code != officer.bureau_code:
        moderation.route(
            sub.id, area=sub.topic_area_code, bureau=officer.bureau_code, actor=moderator, version=sub.version
        )
    bureau.answer(officer, sub.id, bureau.AnswerText(ANSWER, None))
    return receipt


def _url(receipt) -> str:
    return f"/track/{receipt.reference}/{receipt.tracking_token}"


def _say(client, receipt, data: dict, *, token: str | None = None):
    # Any page's security token of this session (a view with no answer shows no form).
    page = client.get(f"/initiatives/{factories.initiative().code}/views/new").get_data(as_text=True)
    form = {"csrf_token": token if token is not None else csrf_token(page), **data}
    return client.post(_url(receipt) + "/feedback", data=form)


def _feedback() -> list[AnswerFeedback]:
    return list(db.session.execute(select(AnswerFeedback).order_by(AnswerFeedback.id)).scalars())


def test_the_answered_views_page_asks_once_with_a_labelled_group_of_choices(app, client, moderator, officer):
    receipt = _answered(moderator, officer)
    page = client.get(_url(receipt)).get_data(as_text=True)
    section = page[page.index('id="feedback"') :]
    assert "<fieldset" in section and "<legend>Did this answer your point?" in section
    for verdict, label in (("yes", "Yes"), ("partly", "Partly"), ("no", "No")):
        assert re.search(rf'<input id="verdict-\d" name="verdict" (required )?type="radio" value="{verdict}">', section)
        assert f">{label}</label>" in section
    assert 'name="comment"' in section and f'action="{_url(receipt)}/feedback"' in section


def test_a_view_without_an_answer_is_not_asked_and_a_post_stores_nothing(app, client, moderator, officer):
    init = factories.initiative()
    receipt = intake.submit(
        intake.NewSubmission(body=factories.TRANSPORT_VIEW, language="en", topic_area=init.area_code)
    )
    page = client.get(_url(receipt)).get_data(as_text=True)
    assert 'id="feedback"' not in page
    response = _say(client, receipt, {"verdict": "yes"})
    assert response.status_code == 302 and _feedback() == []


def test_the_sender_answers_once_and_the_page_shows_what_they_said(app, client, moderator, officer):
    receipt = _answered(moderator, officer)
    response = _say(client, receipt, {"verdict": "partly", "comment": "More trips, but the app is still wrong."})
    assert response.status_code == 302 and response.headers["Location"].endswith(_url(receipt) + "#feedback")
    [given] = _feedback()
    sub = db.session.get(Submission, receipt.submission_id)
    assert (given.submission_id, given.verdict, given.comment) == (
        sub.id,
        "partly",
        "More trips, but the app is still wrong.",
    )
    assert (given.bureau_code, given.initiative_id) == ("TLB", sub.initiative_id)
    event = db.session.execute(
        select(AuditEvent).where(AuditEvent.action == AuditAction.ANSWER_FEEDBACK_GIVEN)
    ).scalar_one()
    assert event.submission_id == sub.id and event.after == {"verdict": "partly"}
    assert "app is still wrong" not in str(event.after) + str(event.reason)  # the comment is not in the history

    page = client.get(_url(receipt)).get_data(as_text=True)
    assert "Thank you. The bureau will read what you told us." in page
    assert "You told us: Partly." in page and "More trips, but the app is still wrong." in page
    assert 'name="verdict"' not in page

    second = _say(client, receipt, {"verdict": "yes", "comment": "Changed my mind."})
    assert second.status_code == 302
    assert "You already told us whether the answer helped" in client.get(_url(receipt)).get_data(as_text=True)
    [still] = _feedback()
    assert (still.verdict, still.comment) == ("partly", "More trips, but the app is still wrong.")


def test_the_service_refuses_a_second_answer(app, moderator, officer):
    receipt = _answered(moderator, officer)
    intake.give_feedback(receipt.submission_id, Verdict.NO, None)
    try:
        intake.give_feedback(receipt.submission_id, Verdict.YES, "again")
    except intake.FeedbackAlreadyGiven:
        pass
    else:
        raise AssertionError("a second answer was stored")
    assert [(f.verdict, f.comment) for f in _feedback()] == [("no", None)]


def test_a_form_with_errors_keeps_what_was_typed(app, client, moderator, officer):
    receipt = _answered(moderator, officer)
    response = _say(client, receipt, {"comment": "I typed this & <b>that</b> carefully."})
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "Please choose yes, partly or no." in page
    assert "I typed this &amp; &lt;b&gt;that&lt;/b&gt; carefully." in page and 'class="error-summary"' in page
    assert response.headers["Cache-Control"] == "private, no-store"

    too_long = "x" * 2001
    response = _say(client, receipt, {"verdict": "no", "comment": too_long})
    assert response.status_code == 400 and "under 2000 characters" in response.get_data(as_text=True)
    assert too_long in response.get_data(as_text=True)

    response = _say(client, receipt, {"verdict": "maybe"})
    assert response.status_code == 400
    assert _feedback() == []

    assert _say(client, receipt, {"verdict": "no", "comment": "y" * 2000}).status_code == 302


def test_an_expired_security_token_keeps_the_comment(app, client, moderator, officer):
    receipt = _answered(moderator, officer)
    response = _say(client, receipt, {"verdict": "no", "comment": "Still full every morning."}, token="stale")
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "Still full every morning." in page
    assert "security token" in page and _feedback() == []


def test_a_wrong_link_is_not_found(app, client, moderator, officer):
    receipt = _answered(moderator, officer)
    page = client.get(_url(receipt)).get_data(as_text=True)
    response = client.post(
        f"/track/{receipt.reference}/wrong/feedback", data={"csrf_token": csrf_token(page), "verdict": "yes"}
    )
    assert response.status_code == 404 and _feedback() == []


# -- the bureau reads it -------------------------------------------------------------------------


def test_the_owning_bureaus_officer_reads_the_verdict_and_comment_and_no_other_bureau_does(
    app, browser, login_as, moderator, officer, other_officer
):
    receipt = _answered(moderator, officer)
    sub_id = receipt.submission_id
    page = browser.client.get(f"/bureau/submissions/{sub_id}")  # signed out: no page
    assert page.status_code in (302, 401, 403)
    bureau.invite(officer, sub_id, other_officer.bureau_code)  # HB may see the view, as a partner
    intake.give_feedback(sub_id, Verdict.NO, "The buses are still full at 7:30.")

    login_as(officer)
    html = browser.client.get(f"/bureau/submissions/{sub_id}").get_data(as_text=True)
    assert "Did this answer the sender&#39;s point?" in html or "Did this answer the sender's point?" in html
    assert "<strong>No</strong>" in html and "The buses are still full at 7:30." in html
    browser.logout()

    login_as(other_officer)
    partner_page = browser.client.get(f"/bureau/submissions/{sub_id}")
    assert partner_page.status_code == 200  # the partner reads the view...
    assert "The buses are still full at 7:30." not in partner_page.get_data(as_text=True)  # ...not the comment
    assert bureau.answer_feedback(other_officer, sub_id) is None
    assert bureau.answer_feedback(officer, sub_id).comment == "The buses are still full at 7:30."


def test_an_officer_of_another_bureau_reads_nothing(app, browser, login_as, moderator, officer):
    receipt = _answered(moderator, officer)
    intake.give_feedback(receipt.submission_id, Verdict.YES, "Thanks, much better now.")
    stranger = factories.user(Role.OFFICER, bureau="EEB")
    login_as(stranger)
    assert browser.client.get(f"/bureau/submissions/{receipt.submission_id}").status_code == 404
    assert bureau.answer_feedback(stranger, receipt.submission_id) is None
    assert "Thanks, much better now." not in browser.client.get("/bureau/dashboard").get_data(as_text=True)


def test_the_officer_sees_that_the_sender_has_not_said_yet(app, browser, login_as, moderator, officer):
    receipt = _answered(moderator, officer)
    login_as(officer)
    html = browser.client.get(f"/bureau/submissions/{receipt.submission_id}").get_data(as_text=True)
    assert "The sender has not said yet." in html


# -- the dashboard -------------------------------------------------------------------------------


def _direct_counts(code: str, since: datetime) -> dict[tuple[int | None, str], int]:
    rows = db.session.execute(
        select(AnswerFeedback.initiative_id, AnswerFeedback.verdict, func.count())
        .where(AnswerFeedback.bureau_code == code, AnswerFeedback.created_at >= since)
        .group_by(AnswerFeedback.initiative_id, AnswerFeedback.verdict)
    ).tuples()
    return {(initiative_id, verdict): count for initiative_id, verdict, count in rows}


def test_the_dashboard_counts_equal_the_verdicts_given_per_bureau_and_initiative(
    app, browser, login_as, moderator, officer, other_officer
):
    tlb = list(
        db.session.execute(select(Initiative).where(Initiative.lead_bureau_code == "TLB").order_by(Initiative.id))
        .scalars()
        .all()[:2]
    )
    given = [
        (tlb[0], Verdict.YES),
        (tlb[0], Verdict.YES),
        (tlb[0], Verdict.NO),
        (tlb[1], Verdict.PARTLY),
        (tlb[1], Verdict.YES),
    ]
    for n, (initiative, verdict) in enumerate(given):
        receipt = _answered(moderator, officer, initiative=initiative, body=f"{factories.TRANSPORT_VIEW} ({n})")
        intake.give_feedback(receipt.submission_id, verdict, None)
    # Another bureau's verdict, and one of ours older than the dashboard's 90 days.
    hb = _answered(moderator, other_officer, initiative=tlb[0], body=f"{factories.TRANSPORT_VIEW} (HB)")
    intake.give_feedback(hb.submission_id, Verdict.NO, None)
    old = _answered(moderator, officer, initiative=tlb[1], body=f"{factories.TRANSPORT_VIEW} (old)")
    intake.give_feedback(old.submission_id, Verdict.NO, None)
    now = datetime.now(UTC)
    db.session.execute(
        update(AnswerFeedback)
        .where(AnswerFeedback.submission_id == old.submission_id)
        .values(created_at=now - timedelta(days=91))
    )
    db.session.commit()

    board = dashboard.build("TLB", now=now)
    direct = _direct_counts("TLB", now - dashboard.FEEDBACK_WINDOW)
    assert board.verdicts.total == sum(direct.values()) == 5
    for verdict in Verdict:
        assert board.verdicts.count(verdict) == sum(c for (_i, v), c in direct.items() if v == verdict)
    assert (board.verdicts.yes, board.verdicts.partly, board.verdicts.no) == (3, 1, 1)
    assert board.verdicts.share("yes") == 3 / 5
    by_initiative = {row.initiative.id: row.verdicts for row in board.verdicts_by_initiative}
    assert set(by_initiative) == {tlb[0].id, tlb[1].id}
    for (initiative_id, verdict), count in direct.items():
        assert by_initiative[initiative_id].count(verdict) == count
    assert board.verdicts_by_initiative[0].initiative.id == tlb[0].id  # most answers first
    assert dashboard.build("HB", now=now).verdicts.no == 1

    login_as(officer)
    html = browser.client.get("/bureau/dashboard").get_data(as_text=True)
    section = html[html.index('id="verdicts-h"') :]
    assert "5 senders answered" in section
    assert re.search(r"<th scope=\"row\">Yes</th><td>3 <svg", section) and "60%" in section
    assert tlb[0].title_en in section and tlb[1].title_en in section
    assert "2 (67%)" in section and "1 (50%)" in section  # per initiative: counts with shares


def test_the_dashboard_says_when_nobody_has_answered_yet(app, browser, login_as, officer):
    login_as(officer)
    html = browser.client.get("/bureau/dashboard").get_data(as_text=True)
    assert "No sender has said yet whether an answer of your bureau helped" in html


def test_the_mails_link_to_the_question_works_as_the_forms_own(app, client, moderator, officer):
    from feedback_app.mail import links

    receipt = _answered(moderator, officer)
    sub = db.session.get(Submission, receipt.submission_id)
    mailed = f"/track/{receipt.reference}/{links.tracking_token(sub)}"
    page = client.get(mailed).get_data(as_text=True)
    assert f'action="{mailed}/feedback"' in page
    response = client.post(mailed + "/feedback", data={"csrf_token": csrf_token(page), "verdict": "yes"})
    assert response.status_code == 302 and response.headers["Location"].endswith(mailed + "#feedback")
    assert [f.verdict for f in _feedback()] == ["yes"]
