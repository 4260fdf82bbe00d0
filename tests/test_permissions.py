"""Who can reach what. Authorisation failures must not leak another bureau's data."""

import pytest
from sqlalchemy import select

from feedback_app.extensions import db
from feedback_app.kernel.models import Answer, Status, Submission

from . import factories


@pytest.mark.parametrize("path", ["/moderation/queue", "/bureau/"])
def test_anonymous_visitor_is_sent_to_sign_in(client, path):
    response = client.get(path)
    assert response.status_code == 302 and "/account/login" in response.headers["Location"]


def test_resident_cannot_reach_the_queue_or_a_bureau_inbox(app, login_as, client, resident):
    login_as(resident)
    assert client.get("/moderation/queue").status_code == 403
    assert client.get("/bureau/").status_code == 403


def test_officer_cannot_reach_the_moderation_queue(app, login_as, client, officer):
    login_as(officer)
    assert client.get("/moderation/queue").status_code == 403


def test_officer_cannot_open_another_bureaus_submission(app, browser, login_as, officer, other_officer):
    sub = factories.submission()
    assert sub.bureau_code == officer.bureau_code
    login_as(other_officer)
    assert sub.reference not in browser.client.get("/bureau/").get_data(as_text=True)
    assert browser.client.get(f"/bureau/submissions/{sub.id}").status_code == 404


def test_finding_by_reference_stays_within_the_officers_bureau(app, browser, login_as, officer, other_officer):
    sub = factories.submission()
    login_as(other_officer)
    missing = browser.client.get(f"/bureau/find?reference={sub.reference}", follow_redirects=True).get_data(
        as_text=True
    )
    assert f"None of your bureau&#39;s views has the reference “{sub.reference}”." in missing
    browser.logout()
    login_as(officer)
    found = browser.client.get(f"/bureau/find?reference={sub.reference.lower()}")
    assert found.status_code == 302 and found.headers["Location"] == f"/bureau/submissions/{sub.id}"


def test_moderator_finds_any_view_by_reference(app, browser, login_as, moderator):
    sub = factories.submission()
    login_as(moderator)
    found = browser.client.get(f"/moderation/find?reference=+{sub.reference}+")
    assert found.status_code == 302 and found.headers["Location"] == f"/moderation/submissions/{sub.id}"
    missing = browser.client.get("/moderation/find?reference=SCF-1999-000001", follow_redirects=True)
    assert "No view has the reference “SCF-1999-000001”." in missing.get_data(as_text=True)


def test_officer_cannot_act_on_another_bureaus_submission(app, browser, login_as, officer, other_officer):
    sub = factories.submission()
    login_as(other_officer)
    token_page = browser.client.get("/bureau/").get_data(as_text=True)
    from .conftest import csrf_token

    token = csrf_token(token_page)
    for action, data in (
        ("answer", {"body": "An answer from the wrong bureau."}),
        ("close", {}),
        ("send-back", {"reason": "x"}),
    ):
        response = browser.client.post(f"/bureau/submissions/{sub.id}/{action}", data={"csrf_token": token, **data})
        assert response.status_code == 404
    db.session.expire_all()
    assert db.session.get(Submission, sub.id).status == Status.ROUTED
    assert db.session.execute(select(Answer)).first() is None


def test_moderation_actions_need_a_moderator(app, browser, login_as, resident):
    sub = factories.submission()
    login_as(resident)
    from .conftest import csrf_token

    token = csrf_token(browser.client.get("/").get_data(as_text=True))
    response = browser.client.post(
        f"/moderation/submissions/{sub.id}/reject", data={"csrf_token": token, "reason": "spam", "version": sub.version}
    )
    assert response.status_code == 403
    db.session.expire_all()
    assert db.session.get(Submission, sub.id).status != Status.REJECTED
