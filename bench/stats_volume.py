"""The public statistics at a million views: rebuilding the rollups, then reading the figures.

On PostgreSQL when BENCH_DATABASE_URL is set (in a schema of its own, `bench_stats`, dropped and
made again: nothing else in that database is touched), else on a temporary SQLite file. The views
are spread over three years with every kind of fate a figure counts (routed by the classifier or
a moderator, overridden, answered on time or late, published, hidden, rejected for each reason,
personal data, campaigns, "did this answer your point?"), with the audit events that say who
routed them. Printed: the time of `flask stats rebuild` (stats.rollups.rebuild), of the worker
recounting one dirty month, then statistics() and moderation_report() for "12m" and "all", p50
and p95 uncached, next to a bare indexed `SELECT … LIMIT 50` timed in the same loop; and GET
/statistics through the test client when that page exists. BENCH_ROWS changes the size.
"""

from __future__ import annotations

import itertools
import os
import time
from datetime import UTC, datetime

from sqlalchemy import func, select, text

from .queue_volume import bench_app, compare, drop_schema, fresh_schema, percentile, refresh_statistics, timing_line

ROWS = int(os.environ.get("BENCH_ROWS", "1000000"))
SCHEMA = "bench_stats"
RUNS = 40
# Seconds between two views: whatever their number, they span about three years (95 s apart at a million).
SPACING = max(1, 3 * 365 * 86400 // ROWS)
CAMPAIGNS = 2000

# A moment `seconds_expr` seconds after view g.i's arrival (the newest arrives now), per dialect.
AT_POSTGRESQL = "(now() - (:rows - g.i) * (:spacing * interval '1 second') + ({s}) * interval '1 second')"
AT_SQLITE = "strftime('%Y-%m-%d %H:%M:%f', 'now', ((g.i - :rows) * :spacing + ({s})) || ' seconds')"

# Twenty fates, by g.i % 20: 0 waits for review; 1-2 rejected (2 after being published); 3-5 and
# 19 with a bureau, unanswered; 6-13 answered; 14-17 answered and closed; 18 answered, hidden.
FILL = """
    WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < :rows)
    INSERT INTO submission (reference, tracking_token_hash, body, language, initiative_id, topic_area_code,
        status, visibility, rejection_reason, flags, review_priority, predicted_area_code, predicted_area_p,
        predicted_bureau_code, predicted_bureau_p, area_code, bureau_code, personal_data_found, campaign_id,
        routed_at, due_at, answered_at, created_at, updated_at, version)
    SELECT 'SCF-S-' || g.i, '0000000000000000000000000000000000000000000000000000000000000000',
        'A view about the smart city (' || g.i || ')', 'en', ini.id, ini.area_code,
        CASE g.i % 20 WHEN 0 THEN 'needs_review' WHEN 1 THEN 'rejected' WHEN 2 THEN 'rejected'
             WHEN 19 THEN 'in_progress' ELSE CASE WHEN g.i % 20 < 6 THEN 'routed'
             WHEN g.i % 20 BETWEEN 14 AND 17 THEN 'closed' ELSE 'answered' END END,
        CASE WHEN g.i % 20 IN (2, 18) THEN 'hidden' WHEN g.i % 20 IN (0, 1, 4, 5, 19) THEN 'pending'
             ELSE 'published' END,
        CASE WHEN g.i % 20 IN (1, 2) THEN CASE (g.i / 20) % 4 WHEN 0 THEN 'spam' WHEN 1 THEN 'abusive'
             WHEN 2 THEN 'off_topic' ELSE 'duplicate' END END,
        '', 2, ini.area_code, 0.9, ini.lead_bureau_code, 0.8,
        CASE WHEN g.i % 20 > 2 THEN ini.area_code END,
        CASE WHEN g.i % 20 > 2 THEN CASE WHEN g.i % 11 = 0 THEN 'HB' ELSE ini.lead_bureau_code END END,
        g.i % 9 = 0,
        CASE WHEN g.i % 50 = 0 THEN (g.i / 50) % :campaigns + 1 END,
        CASE WHEN g.i % 20 > 2 THEN :routed END,
        CASE WHEN g.i % 20 > 2 THEN :due END,
        CASE WHEN g.i % 20 BETWEEN 6 AND 18 THEN :answered END,
        :created, :created, 1
    FROM g
    JOIN bench_initiative ini ON ini.n = g.i % (SELECT count(*) FROM bench_initiative)
"""
# Who routed each view with a bureau: the classifier for two in three, a moderator for the rest.
EVENTS = """
    INSERT INTO audit_event (submission_id, action, before, after, created_at)
    SELECT id, CASE WHEN id % 3 = 0 THEN 'route_confirmed' ELSE 'auto_routed' END, '{}', '{}', created_at
    FROM submission WHERE bureau_code IS NOT NULL
"""
FEEDBACK = """
    INSERT INTO answer_feedback (submission_id, verdict, bureau_code, initiative_id, created_at)
    SELECT id, CASE id % 3 WHEN 0 THEN 'yes' WHEN 1 THEN 'partly' ELSE 'no' END, bureau_code, initiative_id, created_at
    FROM submission WHERE id % 20 BETWEEN 6 AND 9
"""


def _fill(rows: int) -> None:
    from feedback_app.extensions import db

    postgres = db.engine.dialect.name == "postgresql"
    at = AT_POSTGRESQL if postgres else AT_SQLITE
    db.session.execute(
        text(
            "CREATE TEMPORARY TABLE bench_initiative AS SELECT id, area_code, lead_bureau_code, "
            "(SELECT count(*) FROM initiative b WHERE b.id < a.id) AS n FROM initiative a"
        )
    )
    db.session.execute(
        text("INSERT INTO campaign (id, created_at) VALUES (:id, CURRENT_TIMESTAMP)"),
        [{"id": n + 1} for n in range(CAMPAIGNS)],
    )
    sql = (
        FILL.replace(":created", at.format(s="0"))
        .replace(":routed", at.format(s="3600"))
        .replace(":due", at.format(s="14 * 86400"))
        # 0 to 24 days after routing: a share of them after the due date.
        .replace(":answered", at.format(s="3600 + ((g.i * 13) % 25) * 86400 + 7200"))
    )
    db.session.execute(text(sql), {"rows": rows, "spacing": SPACING, "campaigns": CAMPAIGNS})
    db.session.execute(text(EVENTS))
    db.session.execute(text(FEEDBACK))
    db.session.commit()


def run() -> None:
    from feedback_app.kernel.catalogue import load_reference_data

    with bench_app(SCHEMA):
        fresh_schema(SCHEMA)
        load_reference_data()
        started = time.perf_counter()
        _fill(ROWS)
        refresh_statistics()
        measure(filled_in=time.perf_counter() - started)
        drop_schema(SCHEMA)


def measure(*, filled_in: float) -> None:
    from flask import current_app

    from feedback_app.extensions import db
    from feedback_app.kernel.deadlines import HONG_KONG
    from feedback_app.kernel.models import StatsMonth, Submission
    from feedback_app.stats import figures, rollups

    dialect = db.engine.dialect.name
    print(f"\nThe public statistics at volume on {dialect}: {ROWS:,} views (filled in {filled_in:.0f} s)")

    started = time.perf_counter()
    months = rollups.rebuild()
    rebuilt = time.perf_counter() - started
    rows = db.session.execute(select(func.count()).select_from(StatsMonth)).scalar_one()
    print(f"  flask stats rebuild: {rebuilt:.1f} s for {months} months ({rows:,} rollup rows)")

    this_month = rollups.month_of(datetime.now(UTC))
    started = time.perf_counter()
    rollups.mark_dirty([this_month])
    db.session.commit()
    rollups.refresh()
    print(f"  the worker's refresh of one dirty month: {(time.perf_counter() - started) * 1e3:.0f} ms")

    def bare():
        db.session.execute(select(Submission.id).order_by(Submission.id.desc()).limit(50)).all()
        db.session.rollback()

    today = datetime.now(HONG_KONG).date()
    print(f"  {'':<34} {'p50 ms':>8} {'p95 ms':>8} {'bare p50':>9} {'ratio':>10}   ({RUNS} runs, uncached)")
    worst = 0.0
    for key in ("12m", "all"):
        chosen = figures.period(key, today)
        assert chosen is not None
        for name, read in (("statistics", figures.statistics), ("moderation_report", figures.moderation_report)):
            ours, base = compare(lambda read=read, chosen=chosen: (read(chosen), db.session.rollback()), bare, RUNS)
            worst = max(worst, percentile(ours, 95))
            print(f"  {timing_line(f'{name}({key!r})', ours, base)}")
    print(f"  slowest p95: {worst * 1e3:.1f} ms (target: under 50 ms)")

    client = current_app.test_client()
    if client.get("/statistics").status_code == 200:
        db.session.rollback()

        fresh = itertools.count()

        def page():
            # Each time a new address: the shared cache cannot answer.
            response = client.get(f"/statistics?period=12m&n={next(fresh)}")
            assert response.status_code == 200

        ours, base = compare(page, bare, RUNS)
        print(f"  {timing_line('GET /statistics', ours, base)}")
    else:
        print("  GET /statistics: no such page yet")
