"""A visitor searches the published views from the home page and reads a smart area's general
views: three languages, desktop and phone, axe on every page (conftest.Journey.look)."""

from __future__ import annotations

import pytest

from feedback_app.bureau import services as bureau
from feedback_app.extensions import db
from feedback_app.intake import services as intake
from feedback_app.kernel.models import Role, Submission

from .people import publish, routed_to, staff

AREA = "environment"
GENERAL = {
    "en": "Country parks need more recycling bins beside the barbecue sites; call me on 9123 4567.",
    "zh_Hant": "郊野公園的燒烤場旁邊需要更多回收桶，請致電 9123 4567 聯絡我。",
}
WORDS = {"en": "recycling bins", "zh_Hant": "回收桶", "zh_Hans": "回收桶"}


@pytest.fixture(scope="session")
def general_views(live_server):
    """A general view on AREA in each written language, published and answered."""
    app = live_server.app()
    with app.app_context():
        moderator = staff(Role.MODERATOR)
        officer = staff(Role.OFFICER, "EEB")
        references = {}
        for language, body in GENERAL.items():
            receipt = intake.submit(intake.NewSubmission(body=body, language=language, topic_area=AREA))
            sub = routed_to(db.session.get(Submission, receipt.submission_id), "EEB", moderator)
            bureau.answer(officer, sub.id, bureau.AnswerText("More bins will be placed by the summer.", None))
            publish(sub.reference, moderator)
            references[language] = sub.reference
        db.session.remove()
        db.engine.dispose()
    return references


def test_visitor_searches_published_views_and_reads_an_areas_general_views(journey_factory, lang, general_views):
    journey = journey_factory("5b-public-search")
    page = journey.open(journey.new_page(), "/", "home")

    page.fill("#views-q", WORDS[lang])
    page.locator("form[action$='/views'] button[type=submit]").click()
    journey.look(page, "search-results")
    reference = general_views["en" if lang == "en" else "zh_Hant"]
    result = page.locator(f"main a[href$='/views/{reference}']")
    assert result.count() == 1
    assert "9123 4567" not in page.content()  # only the masked, published text is shown

    page.fill("#q", "9123 4567")
    page.locator("form[role=search] button[type=submit]").click()
    journey.look(page, "search-nothing")
    assert page.locator(f"main a[href$='/views/{reference}']").count() == 0

    page = journey.open(page, f"/areas/{AREA}", "area-general-views")
    views = page.locator("li.view").all_inner_texts()
    assert any(reference in v for v in views) and "9123 4567" not in page.content()
