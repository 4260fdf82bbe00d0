"""Search over published views (/views): only the published, masked text may match. The
text-search index holds each view as sent, personal data and all, so these tests prove that a
masked phone number, e-mail address, name or HKID number finds nothing, while the same view is
found by its other words."""

from __future__ import annotations

import re

import pytest

from feedback_app.extensions import db
from feedback_app.kernel import public
from feedback_app.kernel.models import Role, Visibility
from feedback_app.moderation import services as moderation

from . import factories
from .test_public_lists import answer, published, send

PERSONAL = (
    "Mr Chan Tai-man says the zebra crossing outside Yau Ma Tei market needs a countdown signal. "
    "Call 9123 4567 or write to wong.siuming@gmail.com, HKID A123456(7)."
)


def results(client, query: str = "", **args) -> list[str]:
    page = client.get("/views", query_string={"q": query, **args})
    assert page.status_code == 200
    return re.findall(r'href="/views/(SCF-\d{4}-\d+)"', page.get_data(as_text=True))


def test_a_published_view_is_found_by_its_words_in_any_case(client, moderator):
    sub = published(PERSONAL, moderator)
    assert results(client, "zebra crossing") == [sub.reference]
    assert results(client, "COUNTDOWN Yau") == [sub.reference]
    assert results(client, "zebra giraffe") == []  # every word must be there


@pytest.mark.parametrize(
    "personal",
    ["91234567", "9123 4567", "9123", "wong.siuming@gmail.com", "siuming", "gmail", "Tai-man", "A123456"],
)
def test_masked_personal_data_cannot_be_found(app, client, moderator, personal):
    sub = published(PERSONAL, moderator)
    with app.test_request_context():
        text = public.view(sub.reference).text
    assert "[PHONE]" in text and "[EMAIL]" in text and "[NAME]" in text and "[HKID]" in text  # masked...
    assert results(client, "zebra") == [sub.reference]  # ...and findable by its other words
    assert results(client, personal) == []
    assert results(client, f"zebra {personal}") == []


def test_words_a_moderator_edited_out_are_not_found(client, moderator):
    sub = factories.routed(send("The tram stop at Happy Valley is too narrow. SECRETWORD is my nickname."), moderator)
    moderation.edit_public_text(
        sub.id, text="The tram stop at Happy Valley is too narrow.", actor=moderator, version=sub.version
    )
    db.session.commit()
    sub = db.session.get(type(sub), sub.id)
    if sub.visibility != Visibility.PUBLISHED:
        moderation.set_visibility(sub.id, visibility=Visibility.PUBLISHED, actor=moderator, version=sub.version)
        db.session.commit()
    assert results(client, "tram stop") == [sub.reference]
    assert results(client, "secretword") == []


def test_unpublished_views_are_never_found(client, moderator):
    sub = factories.routed(send("A hidden view about the ferry pier at Central needing more seats."), moderator)
    if sub.visibility == Visibility.PUBLISHED:
        moderation.set_visibility(sub.id, visibility=Visibility.HIDDEN, actor=moderator, version=sub.version)
        db.session.commit()
    send("A view still waiting about the ferry pier at Central and its seats.")
    assert results(client, "ferry pier") == []


def test_chinese_in_either_script_finds_either(client, moderator):
    traditional = published("旺角的巴士站太擠迫，應該加建上蓋和座位。", moderator, language="zh_Hant")
    assert results(client, "巴士站") == [traditional.reference]
    assert results(client, "巴士站 上盖") == [traditional.reference]  # Simplified 盖 for 蓋


def test_filters_by_area_and_initiative(client, moderator):
    initiative = factories.initiative()
    on_initiative = published(
        "Real-time arrival screens at the bus stop are often blank.",
        moderator,
        initiative_code=initiative.code,
        area=initiative.area_code,
    )
    general = published("The bus stop near the hospital has no arrival screen at all.", moderator, area="mobility")
    elsewhere = published("The bus stop beside the country park needs a recycling bin.", moderator, area="environment")

    assert set(results(client, "bus stop")) == {on_initiative.reference, general.reference, elsewhere.reference}
    assert set(results(client, "bus stop", area="mobility")) == {on_initiative.reference, general.reference}
    assert results(client, "bus stop", initiative=initiative.code) == [on_initiative.reference]
    assert client.get("/views?q=bus&area=atlantis").status_code == 400
    assert client.get("/views?q=bus&initiative=no-such-initiative").status_code == 400
    assert client.get("/views?q=bus&after=abc").status_code == 400


def test_results_are_counted_and_paged_newest_first(app, client, moderator):
    app.config["PAGE_SIZE"] = 2
    views = [
        published(f"Cycling track number {n} in Tai Po needs better lighting at night.", moderator) for n in range(5)
    ]
    newest_first = [v.reference for v in sorted(views, key=lambda v: -v.id)]

    first = client.get("/views?q=cycling+lighting").get_data(as_text=True)
    # Masking stops once a page and one more are found: the count says so.
    assert "At least 3 published views found." in first
    assert results(client, "cycling lighting") == newest_first[:2]
    after = re.search(r'href="[^"]*after=(\d+)[^"]*" rel="next"', first).group(1)
    assert results(client, "cycling lighting", after=after) == newest_first[2:4]
    app.config["PAGE_SIZE"] = 20
    assert "5 published views found." in client.get("/views?q=cycling+lighting").get_data(as_text=True)


def test_a_campaign_is_found_once(app, client, moderator):
    from .test_campaigns import COPIES

    app.config["CAMPAIGNS"] = True
    copies = [published(body, moderator) for body in COPIES]
    word = re.findall(r"[a-z]{6,}", COPIES[0].lower())[0]
    assert results(client, word) == [max(copies, key=lambda c: c.id).reference]


def test_the_page_helps_when_there_is_nothing_to_show(client, moderator):
    published("The footbridge at Sheung Wan needs a lift.", moderator, area="mobility")
    intro = client.get("/views").get_data(as_text=True)
    assert "Type the words you are looking for" in intro
    assert '<label for="q">' in intro and '<label for="area">' in intro and '<label for="initiative">' in intro
    none = client.get("/views?q=submarine&area=mobility").get_data(as_text=True)
    assert "No published view holds all of these words." in none
    assert "Search all smart areas and initiatives" in none
    assert "holds no words" in client.get("/views?q=%21%21%21").get_data(as_text=True)


def test_home_and_area_pages_lead_to_the_search(client):
    assert 'action="/views"' in client.get("/").get_data(as_text=True)
    area = client.get("/areas/mobility").get_data(as_text=True)
    assert 'action="/views"' in area and 'name="area" value="mobility"' in area


def test_answers_are_shown_with_the_results(client, moderator):
    officer = factories.user(Role.OFFICER, bureau="TLB")
    sub = published("Noise barriers on the Tuen Mun Road are too short.", moderator)
    answer(officer, sub, "We will extend the barriers.")
    page = client.get("/views?q=noise+barriers").get_data(as_text=True)
    assert sub.reference in page and "1 answer" in page


@pytest.mark.parametrize(
    ("lang", "heading", "found"),
    [
        ("en", "Search published views", "1 published view found."),
        ("zh_Hant", "搜尋已公開的意見", "找到 1 則已公開的意見。"),
        ("zh_Hans", "搜寻已公开的意见", "找到 1 则已公开的意见。"),
    ],
)
def test_the_search_page_speaks_each_language(client, moderator, lang, heading, found):
    published("The footbridge at Sheung Wan needs a lift.", moderator, area="mobility")
    client.set_cookie("lang", lang)
    page = client.get("/views?q=footbridge").get_data(as_text=True)
    assert f"<h1>{heading}</h1>" in page and found in page
    area = client.get("/areas/mobility").get_data(as_text=True)
    assert {"en": "General views and answers", "zh_Hant": "一般意見及回覆", "zh_Hans": "一般意见及回复"}[lang] in area
