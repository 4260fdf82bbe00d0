"""The review queue: its order, every filter, text search, pages, counts, and the indexes it uses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select, text

from feedback_app.extensions import db
from feedback_app.kernel import search
from feedback_app.kernel.database import refresh_planner_statistics
from feedback_app.kernel.models import Role, Status, Submission
from feedback_app.moderation import queue
from feedback_app.moderation.queue import QueueFilter, Sort

from . import factories

NOW = datetime.now(UTC)


def view(
    body="The buses on route 960 are always full in the morning.",
    *,
    p=0.6,
    bureau="TLB",
    area="mobility",
    flags="",
    status=Status.NEEDS_REVIEW,
    days_ago=1.0,
    language="en",
    initiative_code=None,
    routed_to=None,
):
    """A stored view placed in the queue as a test needs it (ids grow with each call)."""
    sub = factories.submission(body, initiative_code=initiative_code)
    sub.status, sub.flags, sub.language = status, flags, language
    sub.predicted_bureau_code, sub.predicted_bureau_p = (bureau, p) if p is not None else (None, None)
    sub.predicted_area_code = area if p is not None else None
    sub.bureau_code = routed_to
    sub.created_at = NOW - timedelta(days=days_ago)
    db.session.commit()
    return sub


def listed(filters=QueueFilter(), size=50) -> list[int]:  # noqa: B008 - a frozen dataclass
    return [row.id for row in queue.page(filters, after=None, size=size).items]


def test_flagged_first_then_least_sure_then_oldest(app):
    routine_new = view(p=0.7, days_ago=1)
    routine_old = view(p=0.9, days_ago=5)
    unsure = view(p=0.3, days_ago=0.5)
    unpredicted = view(p=None, days_ago=0.2)
    flagged = view(p=0.95, flags="link_spam", days_ago=0.1)
    routed = view(p=0.99, status=Status.ROUTED, days_ago=9)

    # Within a group, oldest first: ids grow with arrival.
    assert listed() == [flagged.id, unsure.id, unpredicted.id, routine_new.id, routine_old.id]
    assert listed(QueueFilter(sort=Sort.AGE)) == [routine_new.id, routine_old.id, unsure.id, unpredicted.id, flagged.id]
    assert listed(QueueFilter(sort=Sort.CONFIDENCE)) == [
        unpredicted.id,
        unsure.id,
        routine_new.id,
        routine_old.id,
        flagged.id,
    ]
    assert routed.id not in listed()
    assert queue.next_for_review(flagged.id) == unsure.id


def test_pages_follow_the_order_without_gaps_or_repeats(app):
    for i, p in enumerate([0.9, 0.2, None, 0.7, 0.4, 0.9, 0.1]):
        view(p=p, flags="gibberish" if i == 3 else "")
    for sort in Sort:
        whole = listed(QueueFilter(sort=sort))
        seen, after = [], None
        while True:
            page = queue.page(QueueFilter(sort=sort), after=after, size=2)
            seen += [row.id for row in page.items]
            if page.next_after is None:
                break
            after = page.next_after
        assert seen == whole and len(whole) == 7


def test_a_page_link_after_a_decided_view_still_continues(app):
    views = [view(p=p) for p in (0.2, 0.3, 0.9, 0.95)]
    first = queue.page(QueueFilter(), after=None, size=2)
    decided = db.session.get(Submission, first.next_after)
    decided.status = Status.ROUTED  # decided by someone else before the next page is asked for
    db.session.commit()
    second = queue.page(QueueFilter(), after=first.next_after, size=2)
    assert [row.id for row in second.items] == [views[2].id, views[3].id]


def test_each_filter_narrows_the_queue(app, client, login_as):
    base = view(initiative_code=None)
    other = {
        "area": view(area="living", bureau="HHB"),
        "bureau": view(bureau="EEB"),
        "final_bureau": view(status=Status.ROUTED, routed_to="DEVB"),
        "language": view(language="zh_Hant"),
        "flag": view(flags="abusive_language"),
        "band": view(p=0.92),
        "since": view(days_ago=20),
        "text": view("Smart lampposts should not record faces in public places."),
        "visibility": view(),
    }
    other["visibility"].visibility = "hidden"
    db.session.commit()
    login_as(factories.user(Role.MODERATOR))
    cases = {
        "area=living": [other["area"]],
        "bureau=EEB": [other["bureau"]],
        "status=routed&final_bureau=DEVB": [other["final_bureau"]],
        "status=routed": [other["final_bureau"]],
        "language=zh_Hant": [other["language"]],
        "flag=abusive_language": [other["flag"]],
        "flag=any": [other["flag"]],
        "band=high": [other["band"]],
        "band=low": [],
        f"until={(NOW - timedelta(days=10)).date()}": [other["since"]],
        f"since={(NOW - timedelta(days=25)).date()}&until={(NOW - timedelta(days=15)).date()}": [other["since"]],
        "text=lampposts+faces": [other["text"]],
        "text=LAMPPOST": [other["text"]],  # a prefix, whatever the case
        "text=lampposts+trains": [],  # every word must appear
        "visibility=hidden": [other["visibility"]],
    }
    every = [base, *other.values()]
    for query, expected in cases.items():
        response = client.get(f"/moderation/queue?{query}")
        assert response.status_code == 200, query
        html = response.get_data(as_text=True)
        assert {s.reference for s in every if s.reference in html} == {s.reference for s in expected}, query
        if not expected:
            assert "No views match these filters." in html
    # The initiative filter: only views about that initiative.
    elsewhere = view(initiative_code=_another_initiative(base))
    html = client.get(f"/moderation/queue?initiative={elsewhere.initiative_id}").get_data(as_text=True)
    assert elsewhere.reference in html and base.reference not in html


def _another_initiative(sub: Submission) -> str:
    from feedback_app.kernel.models import Initiative

    return (
        db.session.execute(select(Initiative.code).where(Initiative.id != sub.initiative_id).order_by(Initiative.id))
        .scalars()
        .first()
    )


@pytest.mark.parametrize(
    "query, found",
    [
        ("港鐵", True),  # two characters: below the trigram length on SQLite
        ("港铁", True),  # typed in Simplified
        ("港鐵站", True),
        ("車站", False),  # both characters appear, but not together
        ("輕鐵", False),
        ("MTR", True),
        ("mtr 港鐵", True),
    ],
)
def test_text_search_reads_chinese_in_either_script(app, query, found):
    sub = view("MTR 港鐵站的升降機經常壞，希望盡快維修。", language="zh_Hant")
    assert (sub.id in listed(QueueFilter(text=query))) is found


@pytest.mark.parametrize("query", ["'", "a & b | !c", ":*", "<->", "(((", "\\", "%_", '"', "--", "日本語' OR 1=1 --"])
def test_hostile_search_text_is_only_words(app, client, login_as, query):
    view()
    login_as(factories.user(Role.MODERATOR))
    assert client.get("/moderation/queue", query_string={"text": query}).status_code == 200
    listed(QueueFilter(text=query))  # and straight through the service: no SQL error either


@pytest.mark.parametrize(
    "query, message",
    [
        ("since=yesterday", "Not a valid date value."),
        ("since=2026-11-20&until=2026-11-01", "The end date is before the start date."),
        ("initiative=abc", "Not a valid choice."),
        ("sort=random", "Not a valid choice."),
        ("band=extreme", "Not a valid choice."),
        ("text=" + "x" * 201, "Field cannot be longer than 200 characters."),
    ],
)
def test_filters_that_make_no_sense_are_a_form_error(app, client, login_as, query, message):
    login_as(factories.user(Role.MODERATOR))
    response = client.get(f"/moderation/queue?{query}")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html and "Correct the filters above to see the views." in html


def test_counts_over_the_backlog_and_capped_elsewhere(app, client, login_as, monkeypatch):
    view(bureau="EEB", p=0.3)
    view(bureau="EEB", p=0.9, flags="gibberish")
    view(bureau="TLB", p=0.6, language="zh_Hant")
    view(status=Status.ROUTED, routed_to="TLB")
    counts = queue.count_backlog()
    assert counts.total == 3 and counts.flagged == 1
    assert counts.by_bureau == {"EEB": 2, "TLB": 1}
    assert counts.by_language == {"en": 2, "zh_Hant": 1}
    assert counts.by_band == {"low": 1, "medium": 1, "high": 1}
    assert queue.matching_count(QueueFilter()) == queue.Count(3, capped=False)
    monkeypatch.setattr(queue, "COUNT_CAP", 2)
    assert queue.matching_count(QueueFilter()) == queue.Count(2, capped=True)
    login_as(factories.user(Role.MODERATOR))
    html = client.get("/moderation/queue").get_data(as_text=True)
    assert "More than 2 views match." in html and "3 views are waiting for review" in html
    assert "Environment and Ecology Bureau (2)" in html


def test_overdue_views_are_marked_against_the_service_target(app, client, login_as):
    app.config["REVIEW_TARGET_HOURS"] = 24
    late, fresh = view(days_ago=3), view(days_ago=0.1)
    login_as(factories.user(Role.MODERATOR))
    html = client.get("/moderation/queue?sort=age").get_data(as_text=True)
    rows = html.split("<tbody>", 1)[1].split("</tr>")
    assert "Past the target" in next(r for r in rows if late.reference in r)
    assert "Past the target" not in next(r for r in rows if fresh.reference in r)


def _plan(statement) -> str:
    compiled = statement.compile(db.engine, compile_kwargs={"literal_binds": True})
    prefix = "EXPLAIN" if db.engine.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN"
    # EXPLAIN takes no bound parameters: the statement is compiled with its values written in.
    rows = db.session.execute(text(prefix + " " + str(compiled))).all()
    return "\n".join(" ".join(str(c) for c in row) for row in rows)


@pytest.mark.parametrize(
    "filters, index",
    [
        (QueueFilter(), "ix_submission_queue_priority"),
        (QueueFilter(sort=Sort.AGE), "ix_submission_queue_age"),
        (QueueFilter(sort=Sort.CONFIDENCE), "ix_submission_queue_confidence"),
        (QueueFilter(bureau="TLB"), "ix_submission_queue_predicted_bureau"),
        (QueueFilter(area="mobility"), "ix_submission_queue_predicted_area"),
    ],
)
def test_each_order_and_filter_reads_a_partial_index(app, filters, index):
    """The indexes are usable by the very queries the queue sends (the expressions match)."""
    for p in (0.2, 0.6, 0.9):
        view(p=p)
    _decided_views(200)  # the backlog is a small part of the table, as it is in use
    refresh_planner_statistics()  # as the worker does hourly; SQLite guesses without it
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL enable_seqscan = off"))  # a tiny table would not need an index
        db.session.execute(text("SET LOCAL enable_bitmapscan = off"))
    assert index in _plan(queue.statement(filters, after=None, size=20))


def _decided_views(n: int) -> None:
    sub = view(status=Status.ROUTED, routed_to="TLB")
    db.session.execute(
        insert(Submission),
        [
            dict(
                reference=f"SCF-1999-{i:06d}",
                tracking_token_hash="0" * 64,
                body=sub.body,
                language="en",
                initiative_id=sub.initiative_id,
                topic_area_code=sub.topic_area_code,
                status=Status.ROUTED,
                bureau_code="TLB",
                area_code=sub.topic_area_code,
                predicted_bureau_code="TLB",
                predicted_bureau_p=0.97,
            )
            for i in range(n)
        ],
    )
    db.session.commit()


def test_text_search_reads_its_index(app):
    view()
    _decided_views(200)
    refresh_planner_statistics()
    if db.engine.dialect.name == "postgresql":
        # A GIN index is read by bitmap only: with plain index scans off too, the planner picks it
        # if, and only if, the query's document is the very expression indexed.
        db.session.execute(text("SET LOCAL enable_seqscan = off"))
        db.session.execute(text("SET LOCAL enable_indexscan = off"))
        expected = "ix_submission_search"
    else:
        expected = "submission_fts"
    # The search condition alone: with the queue's, the planner may rightly start from the backlog.
    condition = search.matching("lampposts", db.engine.dialect.name)
    assert expected in _plan(select(Submission.id).where(condition))


def _every_page(filters, size=2) -> list[int]:
    seen, after = [], None
    while True:
        page = queue.page(filters, after=after, size=size)
        seen += [row.id for row in page.items]
        if page.next_after is None:
            return seen
        after = page.next_after


def test_a_common_search_word_walks_the_queue_and_lists_what_the_index_would(app, monkeypatch):
    lift = "港鐵站的升降機經常壞，希望盡快維修。"
    for i, p in enumerate([0.9, 0.2, None, 0.7, 0.4, 0.9, 0.1, 0.6]):
        view(lift if i % 3 else "The buses on my route are always full.", p=p, flags="gibberish" if i == 4 else "")
    expected = {sort: _every_page(QueueFilter(text="升降機", sort=sort)) for sort in Sort}
    assert len(expected[Sort.PRIORITY]) == 5
    if db.engine.dialect.name != "postgresql":
        assert not queue.walks(QueueFilter(text="升降機"), 2)  # SQLite: FTS5 answers every search
        return
    monkeypatch.setattr(search, "share", lambda query, dialect: 1.0)  # as common as can be
    assert queue.walks(QueueFilter(text="升降機"), 2)
    for sort in Sort:
        assert _every_page(QueueFilter(text="升降機", sort=sort)) == expected[sort]
    # A window shorter than a page (here 3 views) hands over to the index, with the same result.
    monkeypatch.setattr(queue, "WALK_ROWS", 3)
    assert _every_page(QueueFilter(text="升降機"), size=4) == expected[Sort.PRIORITY]


def test_how_common_a_search_is_comes_from_the_databases_statistics(app, monkeypatch):
    for i in range(30):
        view("港鐵站的升降機經常壞。" if i % 2 else "Smart lampposts should not record faces.")
    monkeypatch.setattr(search, "_statistics", {})
    if db.engine.dialect.name != "postgresql":
        assert search.share("升降機", "sqlite") is None
        return
    db.session.execute(text("ANALYZE submission"))
    assert search.share("升降機", "postgresql") == pytest.approx(0.5, abs=0.1)
    assert search.share("升降机", "postgresql") == pytest.approx(0.5, abs=0.1)  # either script
    assert search.share("lamppost", "postgresql") == pytest.approx(0.5, abs=0.1)  # a prefix
    assert search.share("輕鐵", "postgresql") == 0  # a phrase holds its rarest character at most
    assert search.share("lampposts 升降機", "postgresql") <= 0.5  # every term must appear


def test_the_walk_reads_the_ordered_backlog_not_the_gin_index(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite searches through FTS5")
    view("港鐵站的升降機經常壞。")
    _decided_views(200)
    plan = _plan(queue.statement(QueueFilter(text="升降機"), after=None, size=20, walk=True))
    # The text is tested on the window's rows, never through a GIN index, whatever the estimates.
    assert 'Subquery Scan on "window"' in plan and "search_document @@" in plan
    assert "ix_submission_queue_search" not in plan and "ix_submission_search" not in plan


def test_decided_views_of_one_bureau_are_picked_from_its_index(app):
    view(status=Status.ROUTED, routed_to="EEB")
    _decided_views(200)
    refresh_planner_statistics()
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("ANALYZE submission"))
        db.session.execute(text("SET LOCAL enable_seqscan = off"))  # a tiny table would not need an index
        db.session.execute(text("SET LOCAL enable_bitmapscan = off"))
    # One view of that bureau among 200 of another: its own index, not a walk by status or id.
    plan = _plan(queue.statement(QueueFilter(status="routed", final_bureau="EEB"), after=5, size=20))
    # Either of the bureau's indexes that hold the status: (bureau, status, id), or the inbox's
    # (bureau, id, status) of migration 0019, which PostgreSQL may cost the same on a small table.
    assert "ix_submission_bureau_status_id" in plan or "ix_submission_bureau_id" in plan, plan
    if db.engine.dialect.name == "postgresql":
        assert "Index Only Scan using ix_submission_bureau_" in plan, plan


def test_a_page_link_is_one_statement(app):
    from sqlalchemy import event

    views = [view(p=p) for p in (0.2, 0.3, 0.9, 0.95)]
    first = queue.page(QueueFilter(), after=None, size=2)
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        second = queue.page(QueueFilter(), after=first.next_after, size=2)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert [row.id for row in second.items] == [views[2].id, views[3].id]
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1


def test_a_page_link_to_a_view_that_is_not_there_starts_again(app):
    views = [view(p=p) for p in (0.2, 0.3, 0.9)]
    page = queue.page(QueueFilter(), after=views[-1].id + 1000, size=5)
    assert [row.id for row in page.items] == [views[0].id, views[1].id, views[2].id]
