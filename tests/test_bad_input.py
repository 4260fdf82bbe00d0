"""Bad input is a 400 or 404 page, or a form error with the text kept; never a 500.

Each case here was a 500 on one database or both (ids past the column range, Unicode digits
that str.isdigit() accepts, NUL bytes that PostgreSQL refuses in any text).
"""
import pytest
from sqlalchemy import func, select

from feedback_app.extensions import db
from feedback_app.models import Answer, AuditEvent, Submission

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
    assert client.post(f"/bureau/submissions/{PAST_INT32}/answer", data={"body": "An answer."}).status_code == 404


def test_every_integer_in_a_route_is_bounded(app):
    from werkzeug.routing import IntegerConverter

    from feedback_app.input_guard import MAX_ID, IdConverter

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
        f"/bureau/submissions/{sub.id}", {"body": answer}, action=f"/bureau/submissions/{sub.id}/answer"
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert CONTROL_CHARACTER_FORM_ERROR in html
    assert "on route 960 from next month." in html
    assert _count(Answer) == 0


# -- headers the app reads -------------------------------------------------------------------

@pytest.mark.parametrize("value", ["\x00", "zh_Hant\x00", "x" * 4000, "../../etc/passwd", "‮en"])
def test_a_hostile_language_cookie_or_header_is_ignored(client, value):
    client.set_cookie("lang", value)
    response = client.get("/", headers={"Accept-Language": value.replace("\x00", "")[:200] or "en"})
    assert response.status_code == 200
