"""The public statistics page and moderation report: the figures of a small known data set shown
as charts and the same numbers in tables, in three languages; the period selector; the empty
state; the moderation dashboard's charts."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import delete, insert, update

from feedback_app.extensions import db
from feedback_app.kernel.models import PublicState, RejectionReason, StatsDirtyMonth, StatsDistribution, StatsMonth
from feedback_app.moderation import services as moderation
from feedback_app.stats import rollups
from feedback_app.web import charts

from . import factories

REFRESHED = datetime(2026, 12, 1, 2, 30, tzinfo=UTC)  # 10:30 in Hong Kong


def _this_month() -> date:
    return rollups.month_of(datetime.now(UTC))


def _months_before(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 - count
    return date(index // 12, index % 12 + 1, 1)


def _no_rollups() -> None:
    # The PostgreSQL test database keeps tables the per-test TRUNCATE does not name.
    for table in (StatsMonth, StatsDistribution, StatsDirtyMonth):
        db.session.execute(delete(table))
    db.session.execute(update(PublicState).values(stats_refreshed_at=None))
    db.session.commit()


def _rollups(rows: list[dict], distribution: list[dict] = ()) -> None:
    """The rollup tables as the worker would leave them (their figures known by construction)."""
    _no_rollups()
    db.session.execute(insert(StatsMonth), rows)
    if distribution:
        db.session.execute(insert(StatsDistribution), list(distribution))
    changed = db.session.execute(update(PublicState).where(PublicState.id == 1).values(stats_refreshed_at=REFRESHED))
    if not changed.rowcount:
        db.session.execute(
            insert(PublicState).values(id=1, version=0, changed_at=REFRESHED, stats_refreshed_at=REFRESHED)
        )
    db.session.commit()


def _row(month: date, area: str, bureau: str, **counts) -> dict:
    zero = dict.fromkeys(
        [c.key for c in StatsMonth.__table__.columns if c.key not in ("month", "area_code", "bureau_code")], 0
    )
    return {"month": month, "area_code": area, "bureau_code": bureau, **zero, **counts}


@pytest.fixture
def known(app):
    """Last month: 30 views on mobility to TLB (20 answered, 15 on time, 24 routed automatically
    of 30, said helped 6 yes, 2 partly, 1 no), 10 on the environment to EEB (4 answered), and
    this month: 6 views not routed yet (2 spam, 1 abusive), 3 of them copies in one campaign."""
    this = _this_month()
    last = _months_before(this, 1)
    _rollups(
        [
            _row(
                last,
                "mobility",
                "TLB",
                received=30,
                published=25,
                hidden=2,
                answered=20,
                answered_on_time=15,
                routed_auto=24,
                routed_moderator=6,
                overridden=2,
                personal_data=3,
                helped_yes=6,
                helped_partly=2,
                helped_no=1,
            ),
            _row(
                last,
                "environment",
                "EEB",
                received=10,
                published=8,
                answered=4,
                answered_on_time=4,
                routed_moderator=10,
            ),
            _row(this, "living", "", received=6, rejected_spam=2, rejected_abusive=1, in_campaign=3),
        ],
        [
            {"month": last, "measure": "answer_days", "bureau_code": "TLB", "value": 3, "count": 10},
            {"month": last, "measure": "answer_days", "bureau_code": "TLB", "value": 7, "count": 10},
            {"month": last, "measure": "answer_days", "bureau_code": "EEB", "value": 2, "count": 4},
            {"month": this, "measure": "campaign_size", "bureau_code": "", "value": 3, "count": 1},
        ],
    )
    return this, last


def _cells(html: str, table_id: str) -> list[list[str]]:
    """The rows of the table captioned `<table_id>-caption`, each as its cells' text."""
    start = html.index(f'id="{table_id}-caption"')
    table = html[start : html.index("</table>", start)]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table, flags=re.S)
    return [
        [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, flags=re.S)]
        for row in rows
    ]


def _figure(html: str, figure_id: str) -> str:
    start = html.index(f'aria-labelledby="{figure_id}-title"')
    return html[start : html.index("</figure>", start)]


def test_statistics_page_shows_each_figure_as_a_chart_and_the_same_numbers_in_its_table(client, known):
    this, last = known
    response = client.get("/statistics")
    assert response.status_code == 200
    html = response.get_data(as_text=True)

    per_month = _cells(html, "per-month")
    assert per_month[-2:] == [[last.strftime("%b %Y"), "40"], [this.strftime("%b %Y"), "6"]]
    assert len(per_month) == 1 + 12  # the last twelve months, zeros included
    chart = _figure(html, "per-month")
    assert "<svg" in chart and 'aria-hidden="true"' in chart
    assert ">40</text>" in chart and ">6</text>" in chart  # each value written on its column

    areas = {row[0]: row[-1] for row in _cells(html, "by-area")[1:]}
    assert areas["Smart Mobility"] == "30" and areas["Smart Environment"] == "10" and areas["Smart Living"] == "6"
    assert len(areas) == 7  # every smart area, zeros included
    bureaus = {row[0]: row[-1] for row in _cells(html, "by-bureau")[1:]}
    assert bureaus == {
        "Transport and Logistics Bureau": "30",
        "Environment and Ecology Bureau": "10",
        "Not routed to a bureau yet": "6",
    }
    assert "Transport and Logistics Bureau</text>" in _figure(html, "by-bureau")

    answered = {row[0]: row[1:] for row in _cells(html, "answered-share")[1:]}
    assert answered["Transport and Logistics Bureau"] == ["67%", "20 of 30"]
    assert answered["Environment and Ecology Bureau"] == ["40%", "4 of 10"]
    assert ">67%</text>" in _figure(html, "answered-share")
    median = {row[0]: row[1] for row in _cells(html, "median-days")[1:]}
    assert median == {"Transport and Logistics Bureau": "5", "Environment and Ecology Bureau": "2"}
    on_time = {row[0]: row[1:] for row in _cells(html, "on-time")[1:]}
    assert on_time["Transport and Logistics Bureau"] == ["75%", "15 of 20"]
    routed = {row[0]: row[1:] for row in _cells(html, "routed-auto")[1:]}
    assert routed["Transport and Logistics Bureau"] == ["80%", "24 of 30"]
    assert routed["Environment and Ecology Bureau"] == ["0%", "0 of 10"]
    by_month = _cells(html, "routed-auto-month")
    assert by_month[-2][1:] == ["60%", "24 of 40"] and by_month[-1][1:] == ["—", "0 of 0"]
    helped = {row[0]: row[1:] for row in _cells(html, "helped")[1:]}
    assert helped == {"Yes": ["6", "67%"], "Partly": ["2", "22%"], "No": ["1", "11%"]}
    assert "Yes: 6 (67%)" in _figure(html, "helped")  # the legend names each share

    assert "2026-12-01 10:30" in html  # the last update, in Hong Kong time
    assert 'href="/statistics/moderation?period=12m"' in html and 'href="/open-data"' in html
    assert "SCF-" not in html  # figures only, never a view


@pytest.mark.parametrize(
    ("accept", "words"),
    [
        ("zh-HK", ("統計數字", "運輸及物流局", "智慧出行", "尚未轉交政策局")),
        ("zh-CN", ("统计数字", "运输及物流局", "智慧出行", "尚未转交政策局")),
    ],
)
def test_statistics_page_in_chinese_names_areas_and_bureaus_in_the_readers_script(client, known, accept, words):
    html = client.get("/statistics", headers={"Accept-Language": accept}).get_data(as_text=True)
    for word in words:
        assert word in html, word
    assert "Transport and Logistics Bureau" not in html
    this, _ = known
    assert f"{this.year}年{this.month}月" in html  # months as Chinese writes them


def test_period_selector_is_a_labelled_get_form_and_an_unknown_period_says_so(client, known):
    this, last = known
    html = client.get("/statistics").get_data(as_text=True)
    assert '<label for="period">Period</label>' in html
    assert re.search(r'<form method="get" action="/statistics"', html)
    assert '<option value="12m" selected>' in html
    assert f'<option value="{this.year}">' in html and '<option value="all">' in html

    year = client.get(f"/statistics?period={last.year}")
    assert year.status_code == 200
    assert f'<option value="{last.year}" selected>' in year.get_data(as_text=True)

    for bad in ("1999", "next-year", "12m'><script>", "２０２６"):
        response = client.get("/statistics", query_string={"period": bad})
        assert response.status_code == 404, bad
        page = response.get_data(as_text=True)
        assert "There is no such period" in page and "<script>" not in page
        assert _cells(page, "per-month")[-1][1] == "6"  # the last twelve months instead


def test_a_period_without_views_says_so_helpfully(client, app):
    _no_rollups()
    html = client.get("/statistics").get_data(as_text=True)
    assert "No views were received in this period" in html
    assert "<svg" not in html.split("</header>", 1)[1]
    assert 'href="/initiatives"' in html
    assert "The figures have not been counted yet." in html
    report = client.get("/statistics/moderation").get_data(as_text=True)
    assert "No views were received in this period" in report
    assert "How these figures are counted" in report


def test_moderation_report_by_month_with_its_method(client, known):
    this, last = known
    response = client.get("/statistics/moderation")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert _cells(html, "received-chart")[-2:] == [[last.strftime("%b %Y"), "40"], [this.strftime("%b %Y"), "6"]]
    outcomes = _cells(html, "outcomes")
    assert outcomes[0] == ["Month", "Received", "Published", "Hidden", "Not accepted", "Personal data masked"]
    assert outcomes[1] == [this.strftime("%b %Y"), "6", "0", "0", "3", "0"]  # newest first
    assert outcomes[2] == [last.strftime("%b %Y"), "40", "33", "2", "0", "3"]
    assert outcomes[-1] == ["Total", "46", "33", "2", "3", "3"]
    assert len(outcomes) == 1 + 12 + 1

    rejected = _cells(html, "rejected-chart")
    assert rejected[0] == ["Month", "Spam", "Abusive", "Off-topic", "Duplicate", "All reasons"]
    assert rejected[-1] == ["Total", "2", "1", "0", "0", "3"]
    assert ">Spam</text>" in _figure(html, "rejected-chart")

    routing = _cells(html, "routing")
    assert routing[-1] == ["Total", "24", "16", "2"]
    legend = _figure(html, "routing")
    assert "Automatically, by the classifier: 24 (60%)" in legend
    assert "to another bureau than the classifier predicted: 2 (5%)" in legend

    campaigns = _cells(html, "campaigns")
    assert campaigns[1] == [this.strftime("%b %Y"), "3", "1", "3"]
    for figure in ("Received", "Published", "Hidden", "Not accepted", "Personal data masked", "Classifier overridden"):
        assert f"<dt>{figure}</dt>" in html
    assert 'href="/statistics?period=12m"' in html


def test_moderation_report_in_traditional_chinese(client, known):
    html = client.get("/statistics/moderation", headers={"Accept-Language": "zh-HK"}).get_data(as_text=True)
    for word in ("審核報告", "垃圾訊息", "這些數字如何計算"):
        assert word in html, word


def test_a_view_rejected_through_the_services_is_counted_in_the_report(client, app, moderator):
    _no_rollups()
    sub = factories.submission("Cheap watches for sale, best prices, click now for discounts today only!")
    db.session.refresh(sub)
    moderation.reject(sub.id, reason=RejectionReason.SPAM, note=None, actor=moderator, version=sub.version)
    rollups.rebuild()
    html = client.get("/statistics/moderation").get_data(as_text=True)
    assert _cells(html, "rejected-chart")[-1] == ["Total", "1", "0", "0", "0", "1"]
    assert _cells(html, "outcomes")[-1][:2] == ["Total", "1"]


@pytest.mark.markup
def test_charts_fit_a_phone_and_name_their_unit(client, known):
    html = client.get("/statistics").get_data(as_text=True)
    svgs = re.findall(r"<svg class=\"chart-svg[^>]*>", html)
    assert len(svgs) >= 8
    for svg in svgs:
        assert f'viewBox="0 0 {charts.CHART_WIDTH} ' in svg and 'aria-hidden="true"' in svg and "width=" not in svg
    # Every wide table scrolls by itself, named by its caption.
    for region in re.findall(r'<div class="table-scroll chart-table"[^>]*>', html):
        assert 'role="region"' in region and 'tabindex="0"' in region and "aria-labelledby=" in region
    assert ">Views</text>" in html and ">Days</text>" in html


def test_moderation_dashboard_draws_labelled_charts_beside_its_tables(client, login_as, moderator):
    factories.submission(
        "Please call me on 9123 4567 about the broken lights at Central Pier 5."
    )  # waits: personal data
    login_as(moderator)
    html = client.get("/moderation/dashboard").get_data(as_text=True)
    assert 'class="chart"' not in html  # the unlabelled bars are gone
    assert html.count('class="chart-svg') == 2
    assert "Under an hour</text>" in html and ">Decisions</text>" in html
    backlog = {row[0]: row[1] for row in _cells(html, "backlog")[1:]}
    assert sum(int(n) for n in backlog.values()) == 1


def test_statistics_pages_carry_validators_that_change_when_the_rollups_take_a_change_in(client, known):
    this, _ = known
    first = client.get("/statistics")
    etag = first.headers["ETag"]
    assert client.get("/statistics", headers={"If-None-Match": etag}).status_code == 304
    db.session.execute(update(StatsMonth).where(StatsMonth.month == this).values(received=9))
    db.session.commit()
    # The worker's refresh moves the rollups' time: a new page, a new ETag.
    db.session.execute(update(PublicState).values(stats_refreshed_at=datetime(2026, 12, 2, tzinfo=UTC)))
    db.session.commit()
    fresh = client.get("/statistics", headers={"If-None-Match": etag})
    assert fresh.status_code == 200 and fresh.headers["ETag"] != etag
    assert _cells(fresh.get_data(as_text=True), "per-month")[-1][1] == "9"
    report = client.get("/statistics/moderation")
    assert report.headers.get("ETag") and _cells(report.get_data(as_text=True), "outcomes")[1][1] == "9"


@pytest.mark.parametrize("locale", ["en", "zh_Hant", "zh_Hans"])
def test_counts_are_grouped_as_babel_groups_them_in_each_language(locale):
    from babel.numbers import format_decimal

    from feedback_app.web.templating import grouped

    for number in (0, 7, 1234, 1_000_000, 2_000_000_000_000):
        assert grouped(number) == format_decimal(number, locale=locale)
