"""Journeys through the real site, in English, Traditional and Simplified Chinese, on a desktop
and a phone.

Each test is one person's way through the pages; every page they see is checked with axe and
for its width on the screen, and kept as a screenshot with BROWSER_SCREENSHOTS=1 (see
conftest.Journey.look). Set-up that is not what a journey tests (a
moderator publishing, a bureau answering) goes through the services, as the staff pages would.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from feedback_app.bureau import services as bureau
from feedback_app.campaigns import services as campaigns
from feedback_app.extensions import db
from feedback_app.kernel import catalogue
from feedback_app.kernel.models import Role
from feedback_app.stats import rollups

from .people import publish, routed_to, send_view, staff

SEARCHED_INITIATIVE = "franchised-bus-real-time-arrival"
SEARCH_WORDS = {"en": "real-time arrival", "zh_Hant": "實時到站", "zh_Hans": "实时到站"}
VIEW = {
    "en": "Please show the bus arrival times on the stop displays as well as in the app, for older passengers.",
    "zh_Hant": "希望巴士站的顯示屏也能顯示巴士到站時間，方便不用手機的長者乘客。",
    "zh_Hans": "希望巴士站的显示屏也能显示巴士到站时间，方便不用手机的长者乘客。",
}
# An HKID with its check digit and a Hong Kong mobile number: both must be masked once published.
HKID, PHONE = "A123456(3)", "9123 4567"
MASK_TOKENS_SHOWN = {
    "en": ("[HKID]", "[PHONE]"),
    "zh_Hant": ("［身份證號碼］", "［電話號碼］"),
    "zh_Hans": ("［身份证号码］", "［电话号码］"),
}
PERSONAL_VIEW = {
    "en": f"My card {HKID} was charged twice on route 960. Please call me on {PHONE} about the refund.",
    "zh_Hant": f"我的身份證 {HKID} 在960號巴士被重複收費，請致電 {PHONE} 聯絡我處理退款。",
    "zh_Hans": f"我的身份证 {HKID} 在960号巴士被重复收费，请致电 {PHONE} 联络我处理退款。",
}
READ_INITIATIVE = "smart-traffic-fund"
WORKER_WAIT_SECONDS = 30
PUBLIC_VIEWS = 4  # more than a page (the server shows 3 a page)
ANSWERED = 2


@pytest.fixture(scope="session")
def published_with_answers(live_server):
    """READ_INITIATIVE with views published and some answered by its lead bureau."""
    app = live_server.app()
    with app.app_context():
        initiative = catalogue.get_initiative(READ_INITIATIVE)
        moderator = staff(Role.MODERATOR)
        officer = staff(Role.OFFICER, initiative.lead_bureau_code)
        answers = []
        for n in range(PUBLIC_VIEWS):
            sub = send_view(
                f"View number {n + 1}: the fund should also support trials of electric minibuses on hilly routes.",
                initiative,
            )
            sub = routed_to(sub, initiative.lead_bureau_code, moderator)
            if n < ANSWERED:
                answers.append(f"Answer {n + 1}: thank you for the suggestion; the bureau will consider it.")
                bureau.answer(officer, sub.id, bureau.AnswerText(answers[-1], None))
            publish(sub.reference, moderator)
        db.session.remove()
        db.engine.dispose()
    return answers


SUPPORTED_INITIATIVE = "multi-functional-smart-lampposts"
# A campaign text, published; a resident starts typing a lightly edited copy of it. The
# Simplified journey types the Traditional text in Simplified characters: still the same text.
CAMPAIGN = {
    "en": "I object to the smart lampposts recording faces. The Government must publish what every sensor "
    "collects, who can see the data and how long it is kept, before any more lampposts are installed.",
    "zh_Hant": "我反對智慧燈柱拍攝市民的面孔。政府必須先公開每個感應器收集甚麼數據、誰可以查閱及保存多久，才可再安裝更多燈柱。",
}
DRAFT = {
    "en": "Dear Sir, I object to the smart lampposts recording our faces. The Government must publish what "
    "every sensor collects, who can see the data and how long it is kept",
    "zh_Hant": "你好，我反對智慧燈柱拍攝市民的面孔。政府必須先公開每個感應器收集甚麼數據、誰可以查閱",
    "zh_Hans": "你好，我反对智慧灯柱拍摄市民的面孔。政府必须先公开每个感应器收集什么数据、谁可以查阅",
}


@pytest.fixture(scope="session")
def published_campaigns(live_server):
    """SUPPORTED_INITIATIVE's campaign texts, each published (grouped as the worker would)."""
    app = live_server.app()
    with app.app_context():
        initiative = catalogue.get_initiative(SUPPORTED_INITIATIVE)
        moderator = staff(Role.MODERATOR)
        references = {}
        for language, body in CAMPAIGN.items():
            sub = send_view(body, initiative, language)
            campaigns.place(sub.id)
            sub = routed_to(sub, initiative.lead_bureau_code, moderator)
            publish(sub.reference, moderator)
            references[language] = sub.reference
        db.session.remove()
        db.engine.dispose()
    return references


@pytest.fixture
def moderator_account(served_app):
    return staff(Role.MODERATOR)


def test_resident_finds_an_initiative_sends_a_view_and_follows_it(journey_factory, lang, served_app, moderator_account):
    journey = journey_factory("1-resident")
    page = journey.open(journey.new_page(), "/initiatives", "initiatives")

    page.fill("#q", SEARCH_WORDS[lang])
    page.locator("form[role=search] button[type=submit]").click()
    journey.look(page, "search-results")
    page.locator(f"main a[href$='/initiatives/{SEARCHED_INITIATIVE}']").click()
    journey.look(page, "initiative")
    page.locator(f"a[href$='/initiatives/{SEARCHED_INITIATIVE}/views/new']").click()
    journey.look(page, "form")

    # Sent empty: the errors are listed, and focus moves to that list so a screen reader reads it.
    page.locator("main form button[type=submit], main form input[type=submit]").click()
    assert page.locator(".error-summary").is_visible()
    assert page.evaluate("document.activeElement.classList.contains('error-summary')")
    journey.look(page, "form-errors")

    page.fill("#body", VIEW[lang])
    page.wait_for_timeout(1100)  # read over before sending (the server's minimum fill time is 1 s)
    page.locator("main form input[type=submit]").click()
    journey.look(page, "sent")
    reference = page.locator(".reference").inner_text()
    tracking_link = page.locator("#tracking-link").input_value()
    assert tracking_link.startswith(journey.base_url + "/") and reference in tracking_link
    # The reference is one line on every screen, and the copy button puts the link on the clipboard.
    assert page.locator(".reference").evaluate("el => el.getClientRects().length") == 1
    page.locator("button[data-copy=tracking-link]").click()
    page.locator(".copy-status:not(:empty)").wait_for()
    journey.look(page, "link-copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == tracking_link

    tracking = journey.open(journey.new_page(), copied.removeprefix(journey.base_url), "tracking")
    assert reference in tracking.locator("h1").inner_text()
    assert VIEW[lang] in tracking.locator("blockquote").inner_text()
    # The worker beside the server routes the view (or queues it for a moderator) in moments;
    # the tracking page shows the new status.
    for _ in range(WORKER_WAIT_SECONDS * 2):
        if not tracking.locator(".badge-received").count():
            break
        tracking.wait_for_timeout(500)
        tracking.reload()
    assert not tracking.locator(".badge-received").count(), "the worker did not route the view"
    journey.look(tracking, "tracking-after-routing")
    tracking.close()

    # A second view, with personal data in it: once a moderator publishes it, it shows masked.
    journey.open(page, f"/initiatives/{SEARCHED_INITIATIVE}/views/new", "second-form")
    page.fill("#body", PERSONAL_VIEW[lang])
    # Pasted in one go, and read over before sending: a form sent sooner than the server's
    # minimum fill time is shown again (tests/test_intake_validation.py).
    page.wait_for_timeout(1100)
    page.locator("main form input[type=submit]").click()
    journey.look(page, "sent-personal-data")
    second_reference = page.locator(".reference").inner_text()
    publish(second_reference, moderator_account)

    journey.open(page, f"/initiatives/{SEARCHED_INITIATIVE}", "published-redacted")
    view = page.locator("article", has=page.locator(f"h3:has-text('{second_reference}')"))
    text = view.locator("blockquote").inner_text()
    # The mask tokens are in the reader's language (kernel/public.py).
    assert all(token in text for token in MASK_TOKENS_SHOWN[lang]), text
    assert HKID not in page.content() and PHONE not in page.content()


def test_public_reads_published_views_and_answers_page_by_page(journey_factory, lang, published_with_answers):
    journey = journey_factory("5-public")
    page = journey.open(journey.new_page(), "/", "home")
    initiative_link = f"main a[href$='/initiatives/{READ_INITIATIVE}']"

    page.locator("main a[href$='/areas/mobility']").first.click()
    journey.look(page, "area")
    if not page.locator(initiative_link).count():
        page.fill("#q", {"en": "Smart Traffic Fund", "zh_Hant": "智慧交通基金", "zh_Hans": "智慧交通基金"}[lang])
        page.locator("form[role=search] button[type=submit]").click()
        journey.look(page, "area-search")
    page.locator(initiative_link).click()
    journey.look(page, "initiative-views")

    first_page = page.locator("li.view").all_inner_texts()
    assert len(first_page) == 3
    seen_answers = [a for a in published_with_answers if any(a in v for v in first_page)]

    page.locator("nav.pager a[rel=next]").click()
    journey.look(page, "initiative-views-page-2")
    second_page = page.locator("li.view").all_inner_texts()
    assert len(first_page) + len(second_page) == PUBLIC_VIEWS
    seen_answers += [a for a in published_with_answers if any(a in v for v in second_page)]
    assert sorted(seen_answers) == sorted(published_with_answers)


def _supporters(page) -> int:
    return int("".join(ch for ch in page.locator(".supporters").inner_text() if ch.isdigit()) or 0)


def test_resident_typing_a_copy_is_shown_the_published_view_and_supports_it(journey_factory, lang, published_campaigns):
    journey = journey_factory("1b-resident-supports")
    reference = published_campaigns["en" if lang == "en" else "zh_Hant"]
    page = journey.open(journey.new_page(), f"/initiatives/{SUPPORTED_INITIATIVE}/views/new", "form")
    page.fill("#body", DRAFT[lang])
    # A moment after typing stops, the form lists published views much like the draft.
    suggestion = page.locator(f"#similar-views a[href$='/views/{reference}']")
    suggestion.wait_for(timeout=10_000)
    journey.look(page, "similar-views")
    suggestion.click()
    journey.look(page, "published-view")
    before = _supporters(page)
    page.locator("form.support-form button[type=submit]").click()
    assert page.locator(".flash-success").is_visible()
    journey.look(page, "supported")
    assert _supporters(page) == before + 1
    # Once per device: a second click is not counted, and says so.
    page.locator("form.support-form button[type=submit]").click()
    assert page.locator(".flash-info").is_visible()
    assert _supporters(page) == before + 1
    journey.look(page, "supported-once")
    journey.open(page, f"/initiatives/{SUPPORTED_INITIATIVE}", "initiative-with-support")
    view = page.locator("article", has=page.locator(f"h3:has-text('{reference}')"))
    assert view.locator(f"a[href$='/views/{reference}']").count() == 1


@pytest.fixture
def counted_statistics(live_server, published_with_answers):
    """The rollups recounted with the published and answered views in them, as `flask stats
    rebuild` does (the worker's minute refresh gets there too, only later)."""
    app = live_server.app()
    with app.app_context():
        rollups.rebuild()
        db.session.remove()
        db.engine.dispose()


def _number(text: str) -> int:
    return int(re.sub(r"\D", "", text) or 0)


def _table_rows(page, table_id: str):
    return page.locator(f"table:has(#{table_id}-caption) tbody tr")


def _all_time_total(journey, page) -> int:
    journey.open(page, "/statistics?period=all", "statistics-all-time-again")
    return sum(_number(row.locator("td").inner_text()) for row in _table_rows(page, "per-month").all())


def test_public_reads_the_statistics_and_the_moderation_report_and_downloads_the_figures(
    journey_factory, lang, counted_statistics
):
    journey = journey_factory("5b-public-statistics")
    page = journey.open(journey.new_page(), "/statistics", "statistics")
    # Every figure is a chart with its table beside it, readable without JavaScript.
    figures = page.locator("figure.chart-figure").all()
    assert len(figures) >= 8
    for figure in figures:
        assert figure.locator("svg.chart-svg").count() == 1 and figure.locator("table caption").count() == 1
    # The chart and its table say the same: this month's views, at least those the journeys published.
    this_month = _number(_table_rows(page, "per-month").last.locator("td").inner_text())
    assert this_month >= PUBLIC_VIEWS
    columns = page.locator("figure[aria-labelledby=per-month-title] text.chart-value").all_text_contents()
    assert _number(columns[-1]) == this_month

    # The period selector: all time.
    page.select_option("#period", "all")
    page.locator("form.chart-period button[type=submit]").click()
    page.wait_for_url("**/statistics?period=all")
    journey.look(page, "statistics-all-time")
    assert page.locator("#period").input_value() == "all"
    total = sum(_number(row.locator("td").inner_text()) for row in _table_rows(page, "per-month").all())
    assert total >= this_month

    # The moderation report for the same period: its total row counts the same views.
    page.locator("main a[href*='/statistics/moderation']").click()
    journey.look(page, "moderation-report")
    total_row = _table_rows(page, "outcomes").last
    assert _number(total_row.locator("td").first.inner_text()) == total
    assert page.locator("#method-h").is_visible()

    # The figures behind the page, downloaded from the open data page and read back.
    journey.open(page, "/statistics", "statistics-again")
    page.locator("main a[href$='/open-data']").click()
    journey.look(page, "open-data")
    for _attempt in range(3):
        with page.expect_download() as download:
            page.locator("main a[href$='/open-data/statistics.csv']").first.click()
        data = Path(download.value.path()).read_bytes()
        assert data.startswith(b"\xef\xbb\xbf"), data[:10]  # UTF-8 with its byte-order mark, for Excel
        rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
        assert {"month", "smart_area", "bureau", "received"} <= set(rows[0])
        downloaded = sum(int(row["received"]) for row in rows)
        if downloaded == total:
            break
        # The worker took a change in meanwhile: read the page again, as of now.
        total = _all_time_total(journey, page)
        journey.open(page, "/open-data", "open-data-again")
    assert downloaded == total
