"""A bureau's inbox at a million stored views, 50,000 of them routed to one bureau.

`python -m bench inbox`. On PostgreSQL when BENCH_DATABASE_URL is set (in a schema of its own,
`bench_inbox`, dropped and made again), else on a temporary SQLite file. BENCH_ROWS changes the
size (default 1,000,000). Every page is read through the app's own service (bureau.inbox.page,
50 a page) for an officer of the Transport and Logistics Bureau (TLB), p50 and p95, next to a bare
indexed `SELECT id, reference FROM submission WHERE bureau_code = 'TLB' AND id > :x ORDER BY id
LIMIT 50` timed in the same loop, and printed with its plan (the helpers are the review queue's,
bench/queue_volume.py).

The views, made by one INSERT … SELECT over a counter (ordered, so that ids follow arrival as
the app's do):
- every 20th view is the TLB's (50,000 of a million), under one of the initiatives it leads;
  the rest go to the other 14 bureaus in turn, except the newest 5%, which await review (1 in 40
  of those was sent back by the TLB, half of them naming the bureau it should go to);
- each bureau's newest 35% await an answer (55% new, 45% in progress with an officer), the
  older ones are answered (55%) or closed; routed on arrival, due 14 days later (10 working
  days), the arrivals spaced so that the oldest tenth of those awaiting an answer is overdue;
- five TLB officers, each with a fifth of the bureau's views in progress, answered or closed;
- one TLB view in 13 is a copy in one of 20 campaigns (about 190 copies each), and other
  bureaus have 200 campaigns of their own; 1 in 200 TLB views came back after a send-back;
- the TLB is invited to answer about 1,200 other bureaus' views jointly, and invites the
  Environment and Ecology Bureau to 500 of its own;
- texts are two of the review queue's sentences (English or Chinese) and a number; 1 view in
  1,999 adds a sentence with a rare word ("typhoon").
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import event, text

from .queue_volume import (
    PAGE,
    RUNS,
    SENTENCES,
    bench_app,
    compare,
    drop_schema,
    fresh_schema,
    helper_tables,
    percentile,
    plan,
    refresh_statistics,
    timing_line,
)
from .queue_volume import ROWS as QUEUE_ROWS

ROWS = QUEUE_ROWS
SCHEMA = "bench_inbox"
BUREAU = "TLB"
INVITED = "EEB"  # the bureau the TLB invites to answer some of its views with it
EVERY = 20  # one view in EVERY is the bureau's
BACKLOG = 0.05  # the newest share of views, other bureaus', awaiting review
AWAITING = 0.35  # each bureau's newest share awaiting an answer
OVERDUE = 0.10  # of those, the oldest share past its due date
TARGET_DAYS = 14  # 10 working days
OFFICERS = 5
CAMPAIGNS = 20  # the bureau's; other bureaus have 200
LIMIT = 3.0  # the bound: a page within 3x the bare select

# Row i arrived (rows - i) * step seconds ago; created, due and answered differ by dialect.
TIMES = {
    "postgresql": {
        ":created": "now() - (:rows - g.i) * :step * interval '1 second'",
        ":due": f"now() - (:rows - g.i) * :step * interval '1 second' + interval '{TARGET_DAYS} days'",
        ":answered": "now() - (:rows - g.i) * :step * interval '1 second' + interval '5 days'",
    },
    "sqlite": {
        ":created": "strftime('%Y-%m-%d %H:%M:%f', 'now', '-' || ((:rows - g.i) * :step) || ' seconds')",
        ":due": (
            f"strftime('%Y-%m-%d %H:%M:%f', 'now', '-' || ((:rows - g.i) * :step) || ' seconds', '+{TARGET_DAYS} days')"
        ),
        ":answered": "strftime('%Y-%m-%d %H:%M:%f', 'now', '-' || ((:rows - g.i) * :step) || ' seconds', '+5 days')",
    },
}
# Conditions on row i, written into FILL below.
OURS = "g.i % :every = 0"
IN_BACKLOG = "(g.i % :every <> 0 AND g.i > :rows - :backlog)"
WAITING = "g.i > :rows - :awaiting"
SHARE = "(((g.i / :every) * 57 + g.i) % 100)"  # a spread-out number 0-99 per row
FILL = f"""
    WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < :rows)
    INSERT INTO submission (reference, tracking_token_hash, body, language, initiative_id, topic_area_code,
        status, visibility, flags, review_priority, predicted_area_code, predicted_area_p,
        predicted_bureau_code, predicted_bureau_p, area_code, bureau_code, created_at, updated_at,
        routed_at, due_at, assigned_to_id, answered_at, closed_at, sent_back_by_code, suggested_bureau_code,
        campaign_id, version)
    SELECT 'SCF-I-' || g.i, '0000000000000000000000000000000000000000000000000000000000000000',
        s1.body || ' ' || s2.body
            || CASE WHEN g.i % 1999 = 0 THEN ' Typhoon shelters need brighter lights.' ELSE '' END
            || ' (' || g.i || ')',
        CASE WHEN s1.n >= 8 THEN 'zh_Hant' ELSE 'en' END,
        ini.id, ini.area_code,
        CASE WHEN {IN_BACKLOG} THEN 'needs_review'
             WHEN {WAITING} THEN CASE WHEN {SHARE} < 55 THEN 'routed' ELSE 'in_progress' END
             WHEN {SHARE} < 55 THEN 'answered' ELSE 'closed' END,
        CASE WHEN {IN_BACKLOG} THEN 'pending' ELSE 'published' END,
        '', 2, ini.area_code, 0.9,
        CASE WHEN {OURS} THEN :bureau ELSE b.code END, 0.9,
        CASE WHEN {IN_BACKLOG} THEN NULL ELSE ini.area_code END,
        CASE WHEN {OURS} THEN :bureau WHEN {IN_BACKLOG} THEN NULL ELSE b.code END,
        :created, :created,
        CASE WHEN {IN_BACKLOG} THEN NULL ELSE :created END,
        CASE WHEN {IN_BACKLOG} THEN NULL ELSE :due END,
        CASE WHEN {IN_BACKLOG} OR ({WAITING} AND {SHARE} < 55) THEN NULL
             WHEN {OURS} THEN o.id ELSE b.officer_id END,
        CASE WHEN {IN_BACKLOG} OR {WAITING} THEN NULL ELSE :answered END,
        CASE WHEN {IN_BACKLOG} OR {WAITING} OR {SHARE} < 55 THEN NULL ELSE :answered END,
        CASE WHEN {IN_BACKLOG} AND g.i % 40 = 1 THEN :bureau
             WHEN {OURS} AND (g.i / :every) % 200 = 5 THEN :bureau END,
        CASE WHEN {IN_BACKLOG} AND g.i % 80 = 1 THEN :invited END,
        CASE WHEN {OURS} AND (g.i / :every) % 13 = 0 THEN 1 + (g.i / (:every * 13)) % :campaigns
             WHEN NOT ({OURS}) AND g.i % 31 = 0 THEN :campaigns + 1 + (g.i / 31) % 200 END,
        1
    FROM g
    JOIN bench_sentence s1 ON s1.n = g.i % :n
    JOIN bench_sentence s2 ON s2.n = (g.i / 7) % :n
    JOIN inbox_bureau b ON b.n = g.i % :bureaus
    JOIN inbox_officer o ON o.n = (g.i / :every) % :officers
    JOIN inbox_initiative ini ON ini.ours = CASE WHEN {OURS} THEN 1 ELSE 0 END
        AND ini.n = CASE WHEN {OURS} THEN (g.i / :every) % :our_initiatives ELSE g.i % :initiatives END
    ORDER BY g.i
"""
JOINT = """
    INSERT INTO joint_bureau (submission_id, bureau_code, invited_by_id, invited_at)
    SELECT s.id, :bureau, b.officer_id, s.routed_at FROM submission s JOIN inbox_bureau b ON b.code = s.bureau_code
    WHERE s.status IN ('routed', 'in_progress', 'answered') AND s.id % 499 = 1
"""
INVITES = """
    INSERT INTO joint_bureau (submission_id, bureau_code, invited_by_id, invited_at)
    SELECT s.id, :invited, :officer, s.routed_at FROM submission s
    WHERE s.bureau_code = :bureau AND s.id % (:every * 100) = :every
"""


def _officers() -> list[int]:
    """The bureau's officers (their ids), and one officer of each other bureau (inbox_bureau)."""
    from feedback_app.extensions import db
    from feedback_app.kernel.models import Bureau, Role, User

    def officer(bureau: str, n: int) -> User:
        return User(
            email=f"officer{n}@{bureau.lower()}.bench.invalid",
            display_name=f"Officer {n} ({bureau})",
            password_hash="!",  # nobody signs in
            role=Role.OFFICER,
            bureau_code=bureau,
        )

    ours = [officer(BUREAU, n) for n in range(1, OFFICERS + 1)]
    codes = db.session.execute(db.select(Bureau.code).where(Bureau.code != BUREAU).order_by(Bureau.code)).scalars()
    theirs = {code: officer(code, 1) for code in codes}
    db.session.add_all([*ours, *theirs.values()])
    db.session.flush()
    db.session.execute(text("CREATE TEMPORARY TABLE inbox_officer (n INTEGER PRIMARY KEY, id INTEGER)"))
    db.session.execute(
        text("INSERT INTO inbox_officer (n, id) VALUES (:n, :id)"), [{"n": n, "id": u.id} for n, u in enumerate(ours)]
    )
    db.session.execute(
        text("CREATE TEMPORARY TABLE inbox_bureau (n INTEGER PRIMARY KEY, code VARCHAR(10), officer_id INTEGER)")
    )
    db.session.execute(
        text("INSERT INTO inbox_bureau (n, code, officer_id) VALUES (:n, :code, :id)"),
        [{"n": n, "code": code, "id": u.id} for n, (code, u) in enumerate(theirs.items())],
    )
    return [u.id for u in ours]


def _fill(rows: int) -> tuple[list[int], list[int]]:
    """The views, campaigns and joint views described above; the bureau's officers and the ids of
    the initiatives it leads."""
    from feedback_app.extensions import db

    dialect = db.engine.dialect.name
    helper_tables()
    officers = _officers()
    db.session.execute(
        text(
            "CREATE TEMPORARY TABLE inbox_initiative AS "
            "SELECT id, area_code, 1 AS ours, (SELECT count(*) FROM initiative b "
            "  WHERE b.lead_bureau_code = :bureau AND b.id < a.id) AS n FROM initiative a WHERE lead_bureau_code = :bureau "
            "UNION ALL SELECT id, area_code, 0, n FROM bench_initiative"
        ),
        {"bureau": BUREAU},
    )
    ours = list(db.session.execute(text("SELECT id FROM inbox_initiative WHERE ours = 1 ORDER BY n")).scalars())
    initiatives = db.session.execute(text("SELECT count(*) FROM bench_initiative")).scalar_one()
    db.session.execute(
        text("INSERT INTO campaign (id, created_at) VALUES (:id, CURRENT_TIMESTAMP)"),
        [{"id": n} for n in range(1, CAMPAIGNS + 200 + 1)],
    )
    sql = FILL
    for name, expression in TIMES[dialect].items():
        sql = sql.replace(name, expression)
    # Spaced so that the views awaiting an answer for longer than the target are the oldest tenth.
    step = TARGET_DAYS * 86400 / (rows * AWAITING * (1 - OVERDUE))
    bound = {"rows": rows, "every": EVERY, "bureau": BUREAU, "invited": INVITED}
    db.session.execute(
        text(sql),
        {
            **bound,
            "step": step,
            "backlog": int(rows * BACKLOG),
            "awaiting": int(rows * AWAITING),
            "campaigns": CAMPAIGNS,
            "n": len(SENTENCES),
            "bureaus": db.session.execute(text("SELECT count(*) FROM inbox_bureau")).scalar_one(),
            "officers": OFFICERS,
            "our_initiatives": len(ours),
            "initiatives": initiatives,
        },
    )
    db.session.execute(text(JOINT), {"bureau": BUREAU})
    db.session.execute(text(INVITES), {**bound, "officer": officers[0]})
    db.session.commit()
    return officers, ours


def _capture(fn) -> list[tuple[str, object]]:
    """The statements `fn` sends to the database, with their parameters."""
    from feedback_app.extensions import db

    sent: list[tuple[str, object]] = []

    def note(conn, cursor, statement, parameters, context, executemany):
        sent.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        fn()
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    return sent


def _plans_of(fn) -> list[str]:
    """The plan of each statement `fn` runs, as it ran (its own parameters)."""
    from feedback_app.extensions import db

    lines = []
    for statement, parameters in _capture(fn):
        conn = db.session.connection()
        if db.engine.dialect.name == "postgresql":
            explain = "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF, SUMMARY OFF) "
            rows = conn.exec_driver_sql(explain + statement, parameters)
            lines += [row[0] for row in rows]
        else:
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
            lines += [row[3] for row in rows]
        lines.append("--")
    db.session.rollback()
    return lines[:-1]


def run() -> None:
    from feedback_app.kernel.catalogue import load_reference_data

    with bench_app(SCHEMA):
        fresh_schema(SCHEMA)
        load_reference_data()
        started = time.perf_counter()
        officers, initiatives = _fill(ROWS)
        refresh_statistics()
        measure(officers, initiatives, filled_in=time.perf_counter() - started)
        drop_schema(SCHEMA)


def measure(officers: list[int], initiatives: list[int], *, filled_in: float) -> list[str]:
    """Every page, campaign sizes and counts timed against the bare select, each with its plan;
    the names of the pages over LIMIT times the bare select."""
    from feedback_app.bureau import inbox
    from feedback_app.bureau.inbox import NOBODY, InboxFilter, Sort, Tab
    from feedback_app.extensions import db
    from feedback_app.kernel.deadlines import HONG_KONG

    dialect = db.engine.dialect.name
    now = datetime.now(UTC)
    officer = officers[0]
    mine = db.session.execute(
        text("SELECT count(*) FROM submission WHERE bureau_code = :b"), {"b": BUREAU}
    ).scalar_one()
    counts = inbox.counts(BUREAU, officer, now=now)
    db.session.rollback()
    print(
        f"\nA bureau's inbox at volume on {dialect}: {ROWS:,} views, {mine:,} of them the {BUREAU}'s "
        f"({counts.tabs[Tab.NEW] + counts.tabs[Tab.IN_PROGRESS]:,} awaiting an answer, "
        f"{counts.overdue:,} overdue; filled in {filled_in:.0f} s); "
        f"{RUNS} runs each, page of {PAGE}, for officer {officer} of the {BUREAU}"
    )
    print("  tabs: " + ", ".join(f"{tab.value} {n:,}" for tab, n in counts.tabs.items()))

    middle = ROWS // 2

    def bare():
        db.session.execute(
            text(
                "SELECT id, reference FROM submission WHERE bureau_code = :bureau AND id > :after ORDER BY id LIMIT 50"
            ),
            {"bureau": BUREAU, "after": middle},
        ).all()
        db.session.rollback()

    today = now.astimezone(HONG_KONG).date()
    area = db.session.execute(text("SELECT area_code FROM initiative WHERE id = :id"), {"id": initiatives[1]})
    every = Tab.ALL
    cases: list[tuple[str, InboxFilter, int]] = [  # (name, filters, pages in)
        *((f"tab: {tab.value}", InboxFilter(tab=tab), 0) for tab in Tab),
        ("all, page 2 (the link)", InboxFilter(tab=every), 1),
        (f"all, page 9 (after {8 * PAGE} views)", InboxFilter(tab=every), 8),
        ("all, oldest first", InboxFilter(tab=every, sort=Sort.OLDEST), 0),
        ("all, newest first", InboxFilter(tab=every, sort=Sort.NEWEST), 0),
        ("new, oldest first", InboxFilter(sort=Sort.OLDEST), 0),
        ("all, newest first, page 2", InboxFilter(tab=every, sort=Sort.NEWEST), 1),
        ("filter: initiative", InboxFilter(tab=every, initiative=initiatives[0]), 0),
        ("filter: smart area", InboxFilter(tab=every, area=area.scalar_one()), 0),
        ("filter: language zh_Hant", InboxFilter(tab=every, language="zh_Hant"), 0),
        ("filter: assignee", InboxFilter(tab=every, assignee=officers[1]), 0),
        ("filter: nobody", InboxFilter(tab=every, assignee=NOBODY), 0),
        ("filter: overdue", InboxFilter(tab=every, overdue=True), 0),
        ("filter: new, overdue", InboxFilter(overdue=True), 0),
        ("filter: routed since 7 days", InboxFilter(tab=every, since=today - timedelta(days=7)), 0),
        ("filter: routed until 30 days ago", InboxFilter(tab=every, until=today - timedelta(days=30)), 0),
        ("filter: campaign", InboxFilter(tab=every, campaign=1), 0),
        ("text: 'public' (common)", InboxFilter(tab=every, text="public"), 0),
        ("text: 'public', new", InboxFilter(text="public"), 0),
        ("text: 'public', page 2", InboxFilter(tab=every, text="public"), 1),
        ("text: 'typhoon' (rare)", InboxFilter(tab=every, text="typhoon"), 0),
        ("text: '升降機'", InboxFilter(tab=every, text="升降機"), 0),
        ("text: '輕鐵' (in none)", InboxFilter(tab=every, text="輕鐵"), 0),
    ]
    over = []
    print(f"{'query':<34} {'p50 ms':>8} {'p95 ms':>8} {'bare p50':>9} {'ratio p50':>10}")
    for name, filters, pages_in in cases:
        after = None
        for _ in range(pages_in):  # through each page's link
            after = inbox.page(filters, BUREAU, officer, after=after, size=PAGE, now=now).next_after
        db.session.rollback()

        def read(filters=filters, after=after):
            inbox.page(filters, BUREAU, officer, after=after, size=PAGE, now=now)
            db.session.rollback()

        ours, base = compare(read, bare)
        print(timing_line(name, ours, base))
        if percentile(ours, 50) > LIMIT * percentile(base, 50):
            over.append(name)
        dialect = db.engine.dialect.name
        make = inbox.walk_statement if inbox.walks(filters, PAGE) else inbox.statement
        stmt = make(filters, BUREAU, officer, paged=after is not None, size=PAGE, dialect=dialect)
        bound = {**({"after": after} if after is not None else {}), **({"now": now} if filters.overdue else {})}
        for row in plan(stmt.params(**bound) if bound else stmt):
            print(f"      {row}")
        db.session.rollback()

    first = inbox.page(InboxFilter(tab=every), BUREAU, officer, after=None, size=PAGE, now=now).items
    db.session.rollback()

    def sizes():
        inbox.campaign_sizes(first, InboxFilter(tab=every), BUREAU, officer)
        db.session.rollback()

    ours, base = compare(sizes, bare)
    print(timing_line("campaign sizes, all, page 1", ours, base))
    for row in _plans_of(sizes):
        print(f"      {row}")

    def tab_counts():
        inbox.counts(BUREAU, officer, now=now)
        db.session.rollback()

    ours, base = compare(tab_counts, bare, 10)
    print(timing_line("counts (tabs and overdue)", ours, base) + "   (five counts over the bureau's views)")
    for row in _plans_of(tab_counts):
        print(f"      {row}")
    print(f"pages over {LIMIT:.0f}x the bare select: {', '.join(over) if over else 'none'}")
    return over
