"""Every rule of the submission form: a clear message by the field, what was typed kept, nothing stored."""

import time

import pytest
from sqlalchemy import func, select

from feedback_app.extensions import db
from feedback_app.kernel.models import AuditEvent, Submission

from . import factories
from .conftest import csrf_token, form_token


def _count():
    return db.session.execute(select(func.count()).select_from(Submission)).scalar_one()


def _post(browser, data, initiative=None):
    initiative = initiative or factories.initiative()
    url = f"/initiatives/{initiative.code}/views/new"
    return browser.submit_form(url, {"initiative": initiative.code, **data})


@pytest.mark.parametrize(
    "data, message",
    [
        ({"body": ""}, "Please write your view."),
        ({"body": "   \n  "}, "Please write your view."),
        ({"body": "too short"}, "Please write at least 10 characters"),
        ({"body": "x" * 5001}, "Please keep your view under 5000 characters (it has 5001)."),
        (
            {"body": "A perfectly fine view about buses.", "email": "not-an-email"},
            "This does not look like an e-mail address",
        ),
        (
            {"body": "A perfectly fine view about buses.", "name": "n" * 121},
            "Please keep your name under 120 characters.",
        ),
        (
            {"body": "A perfectly fine view about buses.", "initiative": "no-such-initiative"},
            "Please choose an initiative from the list.",
        ),
    ],
)
def test_bad_input_is_explained_kept_and_not_stored(browser, data, message):
    response = _post(browser, {"name": "Typed Name", **data})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in html
    assert 'aria-invalid="true"' in html
    if data.get("body", "").strip():
        assert data["body"][:50] in html  # what the resident typed is still in the form
    if "name" not in data:
        assert 'value="Typed Name"' in html
    assert _count() == 0
    assert db.session.execute(select(func.count()).select_from(AuditEvent)).scalar_one() == 0


def test_missing_csrf_token_keeps_the_text_and_stores_nothing(client):
    initiative = factories.initiative()
    body = "My view about the bus stop at Nathan Road that I do not want to lose."
    url = f"/initiatives/{initiative.code}/views/new"
    page = client.get(url).get_data(as_text=True)
    response = client.post(url, data={"initiative": initiative.code, "body": body, "form_token": form_token(page)})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "security token" in html
    assert body in html
    assert _count() == 0


def test_unknown_initiative_or_area_page_is_not_found(client):
    assert client.get("/initiatives/no-such-initiative/views/new").status_code == 404
    assert client.get("/areas/no-such-area/views/new").status_code == 404


def test_name_and_email_are_optional(browser):
    response = _post(browser, {"body": "More bus lanes on Hennessy Road, please."})
    assert response.status_code == 200
    sub = db.session.execute(select(Submission)).scalar_one()
    assert sub.name is None and sub.email is None


def test_general_view_on_a_smart_area(browser):
    response = browser.submit_form(
        "/areas/environment/views/new",
        {"initiative": "", "body": "Please put more recycling bins for plastic in public housing estates."},
    )
    assert response.status_code == 200
    sub = db.session.execute(select(Submission)).scalar_one()
    assert sub.initiative_id is None and sub.topic_area_code == "environment"


def test_form_states_why_personal_data_is_asked(client):
    initiative = factories.initiative()
    html = client.get(f"/initiatives/{initiative.code}/views/new").get_data(as_text=True)
    assert "Personal Information Collection Statement" in html
    assert "optional" in html
    assert client.get("/privacy").status_code == 200


def test_too_many_submissions_keep_the_text_and_store_nothing_more(app):
    from .conftest import Browser, RequestIsolatedClient, make_app

    limited = make_app(
        app.config["SQLALCHEMY_DATABASE_URI"], RATELIMIT_ENABLED=True, SUBMISSION_RATE_LIMIT="2 per minute"
    )
    limited.test_client_class = RequestIsolatedClient
    browser = Browser(limited.test_client())
    initiative = factories.initiative()
    url = f"/initiatives/{initiative.code}/views/new"
    for n in range(2):
        body = f"{factories.TRANSPORT_VIEW} (view {n})"
        assert browser.submit_form(url, {"initiative": initiative.code, "body": body}).status_code == 200
    third = "A third view, sent too soon after the others."
    response = browser.submit_form(url, {"initiative": initiative.code, "body": third})
    html = response.get_data(as_text=True)
    assert response.status_code == 429
    assert "so this one was not sent" in html and third in html
    assert _count() == 2


def test_a_filled_honeypot_sends_nothing_and_keeps_the_text(browser):
    body = "The minibus stop on Hennessy Road needs a shelter from the rain."
    response = _post(browser, {"body": body, "leave_empty": "http://spam.example"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "a field meant to stay empty was filled in" in html and body in html
    assert 'value="http://spam.example"' not in html  # emptied, so sending again works
    assert _count() == 0


def test_a_form_sent_faster_than_a_person_types_is_shown_again_and_then_sent(app, browser, monkeypatch):
    from feedback_app.intake import forms

    app.config["SUBMISSION_MIN_FILL_SECONDS"] = 3
    initiative = factories.initiative()
    url = f"/initiatives/{initiative.code}/views/new"
    body = "The minibus stop on Hennessy Road needs a shelter from the rain."
    at_once = browser.submit_form(url, {"initiative": initiative.code, "body": body})
    html = at_once.get_data(as_text=True)
    assert at_once.status_code == 400 and "sent very quickly" in html and body in html
    assert _count() == 0
    # The person reads the message and sends again, a few seconds later: the page shown again
    # carries a new stamp, and this time the view is stored.
    later = time.time() + 5
    monkeypatch.setattr(forms.time, "time", lambda: later)
    again = browser.client.post(
        url,
        follow_redirects=True,
        data={
            "csrf_token": csrf_token(html),
            "form_token": form_token(html),
            "initiative": initiative.code,
            "body": body,
        },
    )
    assert "Your view has been received" in again.get_data(as_text=True)
    assert _count() == 1


def test_the_time_a_page_was_shown_cannot_be_made_earlier(app, client, monkeypatch):
    """The time is signed with the page's one-time token: a script cannot send an older one."""
    from itsdangerous import URLSafeTimedSerializer

    from feedback_app.intake.forms import SENDING_CODE_SALT, read_sending_code

    app.config["SUBMISSION_MIN_FILL_SECONDS"] = 3
    initiative = factories.initiative()
    url = f"/initiatives/{initiative.code}/views/new"
    html = client.get(url).get_data(as_text=True)
    token = read_sending_code(form_token(html)).token
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() - 60)
    backdated = URLSafeTimedSerializer("guessed-key", salt=SENDING_CODE_SALT).dumps(token)
    monkeypatch.undo()
    response = client.post(
        url,
        data={
            "csrf_token": csrf_token(html),
            "form_token": backdated,
            "initiative": initiative.code,
            "body": "The minibus stop on Hennessy Road needs a shelter from the rain.",
        },
    )
    assert response.status_code == 400 and "without its one-time sending code" in response.get_data(as_text=True)
    assert _count() == 0
