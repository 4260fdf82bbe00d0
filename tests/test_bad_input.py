"""Bad input is a 400 or 404 page, or a form error with the text kept; never a 500.

Each case here was a 500 on one database or both (ids past the column range, Unicode digits
that str.isdigit() accepts, NUL bytes that PostgreSQL refuses in any text).
"""

import pytest
from sqlalchemy import func, select

from feedback_app.extensions import db
from feedback_app.kernel.models import Answer, AuditEvent, Submission

from . import factories

CONTROL_CHARACTER_FORM_ERROR = "This contains invisible control characters that cannot be stored."
CONTROL_CHARACTER_PAGE = "This address contains invisible control characters"
PAST_INT64 = "9223372036854775808"
PAST_INT32 = "2147483648"


def _count(model):
    return db.session.execute(select(func.count()).select_from(model)).scalar_one()


# -- ids and page numbers in query strings ---------------------------------------------------


@pytest.mark.parametrize("after", [PAST_INT64, PAST_INT32, "²", "١٢", "-1", "0", "1e3", "abc", "9" * 5000])
def test_a_bad_after_on_a_public_initiative_page_is_a_400(client, after):
    initiative = factories.initiative()
    response = client.get(f"/initiatives/{initiative.code}", query_string={"after": after})
    assert response.status_code == 400
    assert "Something in the request was not right" in response.get_data(as_text=True)


@pytest.mark.parametrize("after", [PAST_INT64, "²", "-5"])
def test_a_bad_after_on_the_review_queue_is_a_400(client, login_as, moderator, after):
    login_as(moderator)
    assert client.get("/moderation/queue", query_string={"after": after}).status_code == 400


@pytest.mark.parametrize("after", [PAST_INT64, "²", "-5"])
def test_a_bad_after_on_the_bureau_inbox_is_a_400(client, login_as, officer, after):
    login_as(officer)
    assert client.get("/bureau/", query_string={"after": after}).status_code == 400


def test_the_largest_id_still_pages(client):
    initiative = factories.initiative()
    sub = factories.submission()
    sub.visibility = "published"
    db.session.commit()
    html = client.get(f"/initiatives/{initiative.code}", query_string={"after": str(2**31 - 1)}).get_data(as_text=True)
    assert sub.reference in html


@pytest.mark.parametrize("page", ["99999999999999999999999", "-1", "0", "²", "x"])
def test_a_bad_page_number_in_the_catalogue_is_a_400(client, page):
    assert client.get("/initiatives", query_string={"page": page}).status_code == 400
    assert client.get("/areas/mobility", query_string={"page": page}).status_code == 400


def test_a_page_past_the_end_of_the_catalogue_shows_the_last_page(client):
    response = client.get("/initiatives", query_string={"page": "999"})
    assert response.status_code == 200


# -- ids in paths ----------------------------------------------------------------------------


@pytest.mark.parametrize("sub_id", [PAST_INT64, PAST_INT32, "9" * 40, "١٢", "-1"])
def test_an_id_in_a_path_that_cannot_exist_is_a_404(client, login_as, moderator, sub_id):
    login_as(moderator)
    assert client.get(f"/moderation/submissions/{sub_id}").status_code == 404
    assert client.post(f"/moderation/submissions/{sub_id}/reject", data={"reason": "spam"}).status_code == 404


def test_the_largest_id_is_an_ordinary_page_not_found(client, login_as, moderator):
    login_as(moderator)
    assert client.get(f"/moderation/submissions/{2**31 - 1}").status_code == 404


def test_an_id_too_large_in_a_bureau_path_is_a_404(client, login_as, officer):
    login_as(officer)
    assert client.get(f"/bureau/submissions/{PAST_INT64}").status_code == 404
    assert client.post(f"/bureau/submissions/{PAST_INT32}/answer", data={"english": "An answer."}).status_code == 404


def test_every_integer_in_a_route_is_bounded(app):
    from werkzeug.routing import IntegerConverter

    from feedback_app.web.input_guard import MAX_ID, IdConverter

    integers = [
        (rule.rule, converter)
        for rule in app.url_map.iter_rules()
        for converter in rule._converters.values()
        if isinstance(converter, IntegerConverter)
    ]
    assert integers, "no route takes an id"
    for rule, converter in integers:
        assert isinstance(converter, IdConverter) and converter.max == MAX_ID, rule


# -- NUL and other control characters in the address -----------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/initiatives?q=%00",
        "/initiatives?q=bus%00lanes",
        "/initiatives?area=mobility%00",
        "/initiatives?%00=1",
        "/areas/mob%00ility",
        "/initiatives/%00",
        "/track/SCF-2026-000001%00/token",
        "/no-such-page%00",
        "/areas/mobility%0A",
        "/areas/mobility%09",
        "/initiatives?q=%1b%5b31m",
    ],
)
def test_control_characters_in_the_address_are_refused_with_a_400_page(client, url):
    response = client.get(url)
    assert response.status_code == 400
    assert CONTROL_CHARACTER_PAGE in response.get_data(as_text=True)


def test_control_characters_in_staff_addresses_are_refused(client, login_as, moderator):
    login_as(moderator)
    for url in ("/moderation/queue?status=%00", "/moderation/find?reference=SCF%00", "/moderation/queue?area=%00"):
        response = client.get(url)
        assert response.status_code == 400, url
        assert CONTROL_CHARACTER_PAGE in response.get_data(as_text=True)


def test_a_tab_or_newline_typed_into_a_search_box_is_ordinary_text(client):
    assert client.get("/initiatives?q=bus%09lanes%0A").status_code == 200


# -- NUL in forms: a form error, the text kept, nothing stored -------------------------------


@pytest.mark.parametrize("field", ["body", "name", "email"])
def test_a_view_with_a_nul_byte_is_refused_with_the_text_kept(browser, field):
    initiative = factories.initiative()
    body = "The minibus stop at Mong Kok needs a shelter from the rain."
    data = {"initiative": initiative.code, "body": body, "name": "Chan Tai Man", "email": "chan@example.org"}
    data[field] = data[field][:10] + "\x00" + data[field][10:]
    response = browser.submit_form(f"/initiatives/{initiative.code}/views/new", data)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert CONTROL_CHARACTER_FORM_ERROR in html
    assert body[10:] in html  # what the resident typed is still in the form
    assert _count(Submission) == 0
    assert _count(AuditEvent) == 0


def test_a_sign_in_with_a_nul_byte_is_a_form_error(browser, moderator):
    response = browser.submit_form("/account/login", {"email": moderator.email + "\x00", "password": "x\x00"})
    assert response.status_code == 400
    assert CONTROL_CHARACTER_FORM_ERROR in response.get_data(as_text=True)


def test_a_moderators_note_with_a_nul_byte_is_a_form_error(browser, login_as, moderator):
    # Personal data keeps a view in the review queue, where it can be rejected with a note.
    sub = factories.submission(factories.TRANSPORT_VIEW + " Call me on 9123 4567.")
    assert sub.status == "needs_review"
    login_as(moderator)
    response = browser.submit_form(
        f"/moderation/submissions/{sub.id}",
        {"reason": "spam", "note": "bad\x00note", "version": str(sub.version)},
        action=f"/moderation/submissions/{sub.id}/reject",
    )
    assert response.status_code == 400
    assert CONTROL_CHARACTER_FORM_ERROR in response.get_data(as_text=True)
    db.session.refresh(sub)
    assert sub.status == "needs_review"


def test_an_officers_answer_with_a_nul_byte_is_a_form_error(browser, login_as, officer):
    sub = factories.submission()
    assert sub.status == "routed" and sub.bureau_code == officer.bureau_code
    login_as(officer)
    answer = "Thank you. We will add more trips\x00 on route 960 from next month."
    response = browser.submit_form(
        f"/bureau/submissions/{sub.id}", {"english": answer}, action=f"/bureau/submissions/{sub.id}/answer"
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert CONTROL_CHARACTER_FORM_ERROR in html
    assert "on route 960 from next month." in html
    assert _count(Answer) == 0


# -- headers the app reads -------------------------------------------------------------------


@pytest.mark.parametrize("value", ["\x00", "zh_Hant\x00", "x" * 4000, "../../etc/passwd", "\u202een"])
def test_a_hostile_language_cookie_or_header_is_ignored(client, value):
    client.set_cookie("lang", value)
    response = client.get("/", headers={"Accept-Language": value.replace("\x00", "")[:200] or "en"})
    assert response.status_code == 200


# -- a file where text belongs: a form error, never a 500 ------------------------------------

NOT_TEXT_FORM_ERROR = "This field takes typed text, not a file."


def _file(content: bytes = b"a file, not text"):
    import io

    return io.BytesIO(content), "view.txt", "text/plain"


@pytest.mark.parametrize("form_page", ["initiative", "area"])
@pytest.mark.parametrize("field", ["body", "name", "email"])
def test_a_text_field_sent_as_a_file_is_a_form_error_on_both_submission_forms(client, form_page, field):
    from .conftest import csrf_token, form_token

    initiative = factories.initiative()
    url = (
        f"/initiatives/{initiative.code}/views/new"
        if form_page == "initiative"
        else f"/areas/{initiative.area_code}/views/new"
    )
    html = client.get(url).get_data(as_text=True)
    body = "The minibus stop at Mong Kok needs a shelter from the rain."
    data = {
        "csrf_token": csrf_token(html),
        "form_token": form_token(html),
        "initiative": initiative.code if form_page == "initiative" else "",
        "body": body,
        "name": "Chan Tai Man",
        "email": "chan@example.org",
    }
    data[field] = _file()
    response = client.post(url, data=data, content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert NOT_TEXT_FORM_ERROR in page
    if field != "body":
        assert body in page  # what was typed in the other fields is kept
    assert _count(Submission) == 0


@pytest.mark.parametrize("field", ["email", "password", "csrf_token"])
def test_a_sign_in_field_sent_as_a_file_is_a_form_error(client, moderator, field):
    from .conftest import csrf_token

    html = client.get("/account/login").get_data(as_text=True)
    data = {"csrf_token": csrf_token(html), "email": moderator.email, "password": factories.PASSWORD}
    data[field] = _file()
    response = client.post("/account/login", data=data, content_type="multipart/form-data")
    assert response.status_code == 400
    if field != "csrf_token":
        assert NOT_TEXT_FORM_ERROR in response.get_data(as_text=True)
    assert "Sign out" not in response.get_data(as_text=True)


@pytest.mark.parametrize("payload", ['{"body": {"a": 1}, "email": [1, 2], "name": 5}', "[1, 2]", "5", '"abc"', "null"])
def test_a_json_body_posted_to_a_form_is_a_400_not_a_500(client, payload):
    initiative = factories.initiative()
    response = client.post(f"/initiatives/{initiative.code}/views/new", data=payload, content_type="application/json")
    assert response.status_code == 400
    login = client.post("/account/login", data=payload, content_type="application/json")
    assert login.status_code == 400
    assert _count(Submission) == 0


def test_every_form_refuses_a_file_where_text_belongs(app):
    """The rule lives in the base form: a form added later inherits it."""
    from werkzeug.datastructures import FileStorage, MultiDict
    from wtforms import StringField

    from feedback_app.web.forms import Form

    class AnyForm(Form):
        class Meta:
            csrf = False

        words = StringField()

    with app.test_request_context(method="POST"):
        form = AnyForm(MultiDict([("words", FileStorage(*_file()[:2]))]))
        assert not form.validate()
        assert form.words.errors == [NOT_TEXT_FORM_ERROR] and form.words.data in (None, "")


# -- dates in the review queue's filters -----------------------------------------------------


@pytest.mark.parametrize(
    "since, until",
    [
        ("", "9999-12-31"),
        ("0001-01-01", ""),
        ("0001-01-01", "9999-12-31"),
        ("9999-12-31", "9999-12-31"),
    ],
)
def test_the_earliest_and_latest_dates_are_ordinary_queue_filters(client, login_as, moderator, since, until):
    sub = factories.submission(factories.TRANSPORT_VIEW + " Call me on 9123 4567.")  # waits for review
    login_as(moderator)
    response = client.get("/moderation/queue", query_string={"since": since, "until": until})
    assert response.status_code == 200
    listed = sub.reference in response.get_data(as_text=True)
    assert listed == (since != "9999-12-31")


@pytest.mark.parametrize("field", ["since", "until"])
@pytest.mark.parametrize(
    "value",
    [
        "10000-01-01",
        "99999999999999999999-01-01",
        "9" * 400,
        "2026-02-30",
        "2026-13-01",
        "-0001-01-01",
        "0000-01-01",
        "1e309",
        "２０２６-０１-０１",
    ],
)
def test_an_impossible_date_in_the_queue_filters_is_a_400_with_a_message(client, login_as, moderator, field, value):
    login_as(moderator)
    response = client.get("/moderation/queue", query_string={field: value})
    assert response.status_code == 400
    assert "Not a valid date value." in response.get_data(as_text=True)
