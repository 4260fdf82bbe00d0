"""Open data: the exports as a program reads them, valid against their own data package; the
feeds of new answers as a feed reader parses them; downloads cheap to repeat, formula-safe,
streamed, and nothing in them the public pages would not show."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import feedparser
import pytest
from frictionless import Package
from sqlalchemy import delete, event, update

from feedback_app.extensions import db
from feedback_app.kernel import open_data, public
from feedback_app.kernel.models import Answer, PublicState, Role, StatsDistribution, StatsMonth, Visibility
from feedback_app.moderation import services as moderation
from feedback_app.text import spreadsheet

from . import test_public_projection as projection
from .conftest import make_app
from .test_public_projection import _answer, _published, _staff

# The projection test's world: published views of every kind beside ones the public never sees.
moderator, world = projection.moderator, projection.world

FILES = ("views.csv", "views.json", "statistics.csv", "distributions.csv", "datapackage.json")


def _csv(response) -> list[dict[str, str]]:
    data = response.get_data()
    assert data.startswith(b"\xef\xbb\xbf"), "no byte order mark: Excel would read Chinese as Big5"
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def _statistics() -> None:
    db.session.execute(delete(StatsMonth))  # PostgreSQL's tables outlive a test (conftest truncates others)
    db.session.add_all(
        [
            StatsMonth(month=date(2026, 11, 1), area_code="mobility", bureau_code="", received=3, published=1),
            StatsMonth(month=date(2026, 11, 1), area_code="mobility", bureau_code="TLB", received=5, answered=2),
            StatsMonth(month=date(2026, 12, 1), area_code="living", bureau_code="HB", received=1, hidden=1),
        ]
    )
    db.session.execute(delete(StatsDistribution))
    db.session.add_all(
        [
            StatsDistribution(month=date(2026, 11, 1), measure="answer_days", bureau_code="TLB", value=3, count=2),
            StatsDistribution(month=date(2026, 11, 1), measure="campaign_size", bureau_code="", value=4, count=1),
        ]
    )
    db.session.execute(update(PublicState).values(stats_refreshed_at=db.func.now()))
    db.session.commit()


def test_views_are_the_published_ones_each_once_with_masked_text_and_answers(app, client, world):
    rows = _csv(client.get("/open-data/views.csv"))
    published = [world["edited"], *world["copies"]]
    assert [r["reference"] for r in rows] == [s.reference for s in published]
    edited = rows[0]
    assert edited["text"] == "The minibus stop is unsafe. Call [PHONE]."
    assert edited["status"] == "answered" and edited["answer_bureaus"] == "TLB"
    assert "[PHONE] is masked" in edited["answers"] and "2999-0000" in edited["answers"]  # the hotline kept
    assert edited["campaign"] == "" and edited["campaign_copies"] == "1"
    # A campaign is named by its first published copy's reference, on every copy.
    first = world["copies"][0].reference
    assert [(r["campaign"], r["campaign_copies"], r["supporters"]) for r in rows[1:]] == [(first, "3", "1")] * 3
    objects = json.loads(client.get("/open-data/views.json").get_data(as_text=True))
    assert [o["reference"] for o in objects] == [r["reference"] for r in rows]
    answer = objects[0]["answers"][0]
    assert answer["bureau"] == "TLB" and answer["language"] == "en" and "[PHONE]" in answer["text"]
    assert objects[1]["answers"] == [] and objects[1]["answered"] is None and objects[1]["campaign"] == first


def test_exports_are_valid_against_their_own_data_package(app, client, world, tmp_path):
    _statistics()
    for name in FILES:
        response = client.get(f"/open-data/{name}")
        assert response.status_code == 200, name
        (tmp_path / name).write_bytes(response.get_data())
    package = Package(str(tmp_path / "datapackage.json"))
    assert package.get_resource("views-csv").schema.primary_key == ["reference"]
    report = package.validate()
    assert report.valid, report.flatten(["resourceName", "rowNumber", "fieldName", "type", "note"])
    rows = {r.name: r.read_rows() for r in package.resources}
    assert len(rows["views-csv"]) == len(rows["views-json"]) == 4
    assert rows["views-json"][0]["answers"][0]["bureau"] == "TLB"
    assert [(r["month"], r["bureau"]) for r in rows["statistics"]] == [
        ((2026, 11), ""),
        ((2026, 11), "TLB"),
        ((2026, 12), "HB"),
    ]
    assert rows["statistics"][1]["received"] == 5 and rows["statistics"][1]["answered"] == 2
    assert [(r["measure"], r["bureau"], r["value"], r["count"]) for r in rows["distributions"]] == [
        ("answer_days", "TLB", 3, 2),
        ("campaign_size", "", 4, 1),
    ]


def test_the_data_package_states_the_operators_licence(app, client):
    default = client.get("/open-data/datapackage.json").get_json()
    assert default["licenses"] == [
        {
            "name": "CC-BY-4.0",
            "title": "Creative Commons Attribution 4.0 International",
            "path": "https://creativecommons.org/licenses/by/4.0/",
        }
    ]
    app.config.update(
        OPEN_DATA_LICENCE_NAME="ODC-BY-1.0",
        OPEN_DATA_LICENCE_TITLE="Open Data Commons Attribution License v1.0",
        OPEN_DATA_LICENCE_URL="https://opendatacommons.org/licenses/by/1-0/",
    )
    chosen = client.get("/open-data/datapackage.json")
    assert chosen.get_json()["licenses"][0]["name"] == "ODC-BY-1.0"
    page = client.get("/open-data").get_data(as_text=True)
    assert "Open Data Commons Attribution License v1.0" in page and "DATA.GOV.HK" not in page


FORMULAS = ['=HYPERLINK("http://evil.example")', "+1+1 buses", "-5 buses", "@SUM(A1)", "\t=1+1", " =1+2"]


def test_csv_cells_a_spreadsheet_would_run_start_with_an_apostrophe(app, client, moderator):
    officer = _staff(Role.OFFICER, "Officer", bureau_code="TLB")
    subs = []
    for formula in FORMULAS:
        sub = _published("The buses on route 960 are full every morning.", moderator)
        moderation.edit_public_text(
            sub.id, text=formula + " and more buses please", actor=moderator, version=sub.version
        )
        db.session.commit()
        subs.append(sub)
    _answer(officer, subs[0].id, "=1+1 is what we will add")
    rows = _csv(client.get("/open-data/views.csv"))
    for row, formula in zip(rows, FORMULAS, strict=True):
        assert row["text"] == "'" + formula + " and more buses please"
    assert rows[0]["answers"].startswith("[TLB ")  # the answer's cell starts with its label
    objects = json.loads(client.get("/open-data/views.json").get_data(as_text=True))
    assert objects[0]["text"].startswith("=HYPERLINK")  # JSON carries the text as published
    assert spreadsheet.neutralise("-") == "'-" and spreadsheet.neutralise("\r") == "'\r"
    assert spreadsheet.neutralise("ok = fine") == "ok = fine"


@pytest.mark.parametrize("name", ["views.csv", "views.json", "statistics.csv", "distributions.csv", "datapackage.json"])
def test_a_repeated_download_is_a_304_without_reading_a_row(app, client, world, monkeypatch, name):
    _statistics()
    first = client.get(f"/open-data/{name}")
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert first.headers["Cache-Control"].startswith("public")
    if name != "datapackage.json":
        assert first.headers["Content-Disposition"] == f'attachment; filename="{name}"'

    def refuse(*args, **kwargs):
        raise AssertionError("rows read for a 304")

    for reader in ("views", "statistics_rows", "published_count", "statistics_count"):
        monkeypatch.setattr(open_data, reader, refuse)
    again = client.get(f"/open-data/{name}", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b"" and again.headers["ETag"] == etag
    since = client.get(f"/open-data/{name}", headers={"If-Modified-Since": modified})
    assert since.status_code == 304
    monkeypatch.undo()
    assert client.get(f"/open-data/{name}", headers={"If-None-Match": '"other"'}).status_code == 200


def test_a_published_change_gives_the_views_a_new_etag(app, client, world, moderator):
    before = client.get("/open-data/views.csv")
    statistics = client.get("/open-data/statistics.csv").headers["ETag"]
    copy = world["copies"][-1]
    moderation.set_visibility(copy.id, visibility=Visibility.HIDDEN, actor=moderator, version=copy.version)
    db.session.commit()
    after = client.get("/open-data/views.csv", headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200 and after.headers["ETag"] != before.headers["ETag"]
    assert copy.reference not in after.get_data(as_text=True)
    assert client.get("/open-data/statistics.csv").headers["ETag"] == statistics  # the rollups did not move


def test_downloads_are_streamed_and_read_in_batches_with_no_query_per_row(app, client, world, monkeypatch):
    assert client.get("/open-data/views.json").is_streamed
    pulled = []
    real_views = open_data.views

    def counted(**kwargs):
        for record in real_views(batch=1):
            pulled.append(record.reference)
            yield record

    monkeypatch.setattr(open_data, "views", counted)
    monkeypatch.setattr(open_data, "BATCH", 1)  # a chunk per row
    db.session.commit()
    with app.test_request_context("/open-data/views.csv"):
        response = app.view_functions["public.views_csv"]()
        chunks = iter(response.response)
        first = next(chunks)
        assert first.startswith("\ufeffreference,")
        assert len(pulled) <= 2, "the whole file was made before its first bytes left"
        rest = list(chunks)
    assert len(pulled) == 4 and len(rest) >= 3
    monkeypatch.undo()
    statements = []

    def count(*args):
        statements.append(args[2])

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        records = list(open_data.views(batch=2))
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(records) == 4
    # Bureaus and their contacts once; per batch (two of two, then an empty one): the views, their
    # answers, campaigns, supporters (singles and campaigns). Never a query per row.
    assert len(statements) <= 3 + 2 * 5 + 1, statements


def test_the_data_dictionary_describes_every_field_in_each_language(app, client, world):
    for language in ("en", "zh_Hant", "zh_Hans"):
        client.get(f"/language/{language}")
        response = client.get("/open-data")
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        for field in (*open_data.VIEWS_CSV_FIELDS, *open_data.ANSWER_FIELDS, *open_data.STATISTICS_FIELDS):
            assert f"<code>{field.name}</code>" in page, (language, field.name)
        for name in FILES:
            assert f"/open-data/{name}" in page
        assert "Creative Commons Attribution 4.0 International" in page
    client.get("/language/en")
    assert "4 rows" in client.get("/open-data").get_data(as_text=True)


def _feed(client, url):
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/atom+xml")
    parsed = feedparser.parse(response.get_data())
    assert not parsed.bozo, parsed.get("bozo_exception")
    return response, parsed


def test_feeds_of_new_answers_are_valid_atom_with_stable_ids(app, client, world, moderator):
    officer = _staff(Role.OFFICER, "Officer Two", bureau_code="TLB")
    copy = world["copies"][0]
    _answer(officer, copy.id, "We will publish the sensors' list.")
    initiative = world["edited"].initiative.code
    for url in (f"/initiatives/{initiative}/answers.atom", "/bureaus/TLB/answers.atom"):
        response, parsed = _feed(client, url)
        assert parsed.version == "atom10"
        ids = [e.id for e in parsed.entries]
        assert ids == [
            f"http://localhost/views/{copy.reference}#answer-1",
            f"http://localhost/views/{world['edited'].reference}#answer-1",
        ]
        assert "[PHONE]" in parsed.entries[1].content[0].value
        assert _feed(client, url)[1].entries[0].id == ids[0]  # the same on every request
        again = client.get(url, headers={"If-None-Match": response.headers["ETag"]})
        assert again.status_code == 304
    # Another bureau's feed has none of TLB's answers; an unknown code is a 404.
    assert _feed(client, "/bureaus/EEB/answers.atom")[1].entries == []
    assert client.get("/bureaus/NOPE/answers.atom").status_code == 404
    assert client.get("/initiatives/no-such-initiative/answers.atom").status_code == 404


def test_a_feed_holds_the_newest_50_answers(app, client, moderator):
    officer = _staff(Role.OFFICER, "Officer Three", bureau_code="TLB")
    sub = _published("The buses on route 960 are full every morning.", moderator)
    for n in range(open_data.FEED_SIZE + 2):
        db.session.add(
            Answer(submission_id=sub.id, bureau_code="TLB", author_id=officer.id, body=f"Answer number {n}.")
        )
    db.session.commit()
    public.mark_changed()
    db.session.commit()
    parsed = _feed(client, "/bureaus/TLB/answers.atom")[1]
    assert len(parsed.entries) == open_data.FEED_SIZE


def test_whole_downloads_are_limited_per_address_and_a_304_is_never_counted(app):
    limited = make_app(app.config["SQLALCHEMY_DATABASE_URI"], RATELIMIT_ENABLED=True, OPEN_DATA_RATE_LIMIT="2 per hour")
    client = limited.test_client()  # each response read in full (buffered) before the next request
    first = client.get("/open-data/views.csv", buffered=True)
    assert first.status_code == 200
    for _ in range(5):  # checking for a new version costs nothing
        assert (
            client.get(
                "/open-data/views.csv", buffered=True, headers={"If-None-Match": first.headers["ETag"]}
            ).status_code
            == 304
        )
    assert client.get("/open-data/views.json", buffered=True).status_code == 200
    assert client.get("/open-data/views.csv", buffered=True).status_code == 429
    assert client.get("/open-data/statistics.csv", buffered=True).status_code == 200  # a small file: not limited
    other = client.get("/open-data/views.csv", buffered=True, environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert other.status_code == 200


def test_the_data_dictionary_escapes_its_own_text(app, client):
    page = client.get("/open-data").get_data(as_text=True)
    assert "(/views/&lt;reference&gt;)" in page  # a lazy string is Markup to Jinja: escaped by hand
