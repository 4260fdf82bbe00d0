"""What a screen reader and a keyboard get from the forms and the header (the browser suite checks the
same pages in Chromium with axe; these run everywhere, on SQLite: the markup is the same on either
database)."""

import re

import pytest

from . import factories

pytestmark = pytest.mark.markup

SUBMIT_PAGE = "/initiatives/{code}/views/new"


def _tag(html: str, element_id: str) -> str:
    match = re.search(rf'<[a-z]+ [^>]*id="{element_id}"[^>]*>', html)
    assert match, f"no element with id {element_id}"
    return match.group(0)


def test_no_field_points_its_description_at_an_element_that_does_not_exist(client):
    html = client.get(SUBMIT_PAGE.format(code=factories.initiative().code)).get_data(as_text=True)
    assert 'aria-describedby="None"' not in html
    assert 'aria-describedby=""' not in html
    for ids in re.findall(r'aria-describedby="([^"]+)"', html):
        for element_id in ids.split():
            assert f'id="{element_id}"' in html, f"aria-describedby names {element_id}, which is not on the page"
    assert "aria-describedby" not in _tag(html, "name")  # a field with no hint and no error


def test_the_length_hint_is_read_with_the_text_box(client):
    html = client.get(SUBMIT_PAGE.format(code=factories.initiative().code)).get_data(as_text=True)
    assert "body-count" in _tag(html, "body").split('aria-describedby="')[1].split('"')[0]
    assert "Between 10 and 5000 characters" in html


def test_after_a_failed_send_focus_lands_on_the_list_of_errors(browser):
    response = browser.submit_form(SUBMIT_PAGE.format(code=factories.initiative().code), {"body": "short"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    summary = re.search(r'<div class="error-summary"[^>]*>', html).group(0)
    assert "autofocus" in summary and 'tabindex="-1"' in summary
    body = _tag(html, "body")
    assert 'aria-invalid="true"' in body
    assert set(body.split('aria-describedby="')[1].split('"')[0].split()) == {"body-error", "body-count"}


def test_the_header_names_the_current_language_to_screen_readers_and_links_the_other(client):
    html = client.get("/", headers={"Accept-Language": "zh-HK"}).get_data(as_text=True)
    assert re.search(r'<li class="visually-hidden"><span aria-current="true">繁體中文</span></li>', html)
    assert re.search(r'<a href="/language/en[^"]*" data-short="EN" lang="en">English</a>', html)
