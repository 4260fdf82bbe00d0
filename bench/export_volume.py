"""A bureau's export at 100,000 views: time and peak memory against holding the rows in a list.

`python -m bench export`. On PostgreSQL when BENCH_DATABASE_URL is set (in a schema of its own,
`bench_export`, dropped and made again), else on a temporary SQLite file. BENCH_EXPORT_ROWS
changes the size (default 100,000). One bureau holds every view; a quarter of them answered
and a quarter closed, each of those with an answer, so the export reads answers batch by batch.

The baseline, measured in the same run: a bare SELECT of the same columns (and the answers'),
fetched with fetchall() into lists — what an export that builds its file in memory would hold
before writing a byte. The export is timed as the officer gets it: CSV text written and thrown
away chunk by chunk. Peak memory is measured twice: Python's allocations (tracemalloc, in a run
of its own, since tracing slows everything) and the process's resident set (the growth of
ru_maxrss, a high-water mark: the export runs before the baseline, or the baseline's peak
would hide it).
"""

from __future__ import annotations

import os
import resource
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from config import TestConfig

ROWS = int(os.environ.get("BENCH_EXPORT_ROWS", "100000"))
SCHEMA = "bench_export"
BUREAU = "TLB"

SENTENCES = [
    "The buses on my route are always full in the morning.",
    "Please add real-time arrival information at minibus stops.",
    '=HYPERLINK("https://example.org") is how I would link the timetable.',
    "More electric vehicle chargers are needed in public car parks.",
    "港鐵站的升降機經常壞，希望盡快維修。",
    "希望在小巴站提供實時到站資訊。",
    "電動車充電設施太少，停車場應增加。",
]

# Times differ by dialect; everything else is bound. Row i arrived (rows - i) minutes before now.
CREATED = {
    "postgresql": "now() - (:rows - g.i) * interval '1 minute'",
    "sqlite": "strftime('%Y-%m-%d %H:%M:%f', 'now', '-' || (:rows - g.i) || ' minutes')",
}
DUE = {
    "postgresql": "now() - (:rows - g.i) * interval '1 minute' + interval '14 days'",
    "sqlite": "strftime('%Y-%m-%d %H:%M:%f', 'now', '-' || (:rows - g.i) || ' minutes', '+14 days')",
}
FILL = """
    WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < :rows)
    INSERT INTO submission (reference, tracking_token_hash, body, language, name, email, initiative_id,
        topic_area_code, status, visibility, flags, review_priority, area_code, bureau_code,
        created_at, updated_at, routed_at, due_at, answered_at, version)
    SELECT :prefix || g.i, '0000000000000000000000000000000000000000000000000000000000000000',
        s1.body || ' ' || s2.body || ' (' || g.i || ')',
        CASE WHEN s1.n >= 4 THEN 'zh_Hant' ELSE 'en' END,
        'Resident ' || g.i, 'resident' || g.i || '@example.org',
        ini.id, ini.area_code,
        CASE g.i % 4 WHEN 0 THEN 'routed' WHEN 1 THEN 'in_progress' WHEN 2 THEN 'answered' ELSE 'closed' END,
        'published', '', 2, ini.area_code, :bureau,
        :created, :created, :created, :due, CASE WHEN g.i % 4 >= 2 THEN :created END, 1
    FROM g
    JOIN export_sentence s1 ON s1.n = g.i % :n
    JOIN export_sentence s2 ON s2.n = (g.i / 7) % :n
    JOIN export_initiative ini ON ini.n = g.i % :initiatives
"""
ANSWERS = """
    INSERT INTO answer (submission_id, bureau_code, author_id, body, language, translation, created_at)
    SELECT id, bureau_code, :author,
        'Thank you for your view. The department is reviewing bus frequency on this route.', 'en',
        '多謝你的意見。部門正檢討這條路線的班次。', answered_at
    FROM submission WHERE bureau_code = :bureau AND status IN ('answered', 'closed') AND reference LIKE :pattern
"""


def fill(rows: int, *, bureau: str, author_id: int, prefix: str = "EXP-") -> None:
    """`rows` views of `bureau` (references `prefix`1, 2, …) in one INSERT … SELECT, and an answer
    to each answered or closed one: the same SQL on both databases, 100,000 rows in seconds."""
    from feedback_app.extensions import db

    dialect = db.engine.dialect.name
    db.session.execute(text("CREATE TEMPORARY TABLE export_sentence (n INTEGER PRIMARY KEY, body TEXT)"))
    db.session.execute(
        text("INSERT INTO export_sentence (n, body) VALUES (:n, :body)"),
        [{"n": n, "body": body} for n, body in enumerate(SENTENCES)],
    )
    led = db.session.execute(
        text("SELECT id, area_code FROM initiative WHERE lead_bureau_code = :bureau ORDER BY id"), {"bureau": bureau}
    ).all()
    db.session.execute(
        text("CREATE TEMPORARY TABLE export_initiative (n INTEGER PRIMARY KEY, id INTEGER, area_code TEXT)")
    )
    db.session.execute(
        text("INSERT INTO export_initiative (n, id, area_code) VALUES (:n, :id, :area)"),
        [{"n": n, "id": row.id, "area": row.area_code} for n, row in enumerate(led)],
    )
    sql = FILL.replace(":created", CREATED[dialect]).replace(":due", DUE[dialect])
    bound = {"rows": rows, "n": len(SENTENCES), "initiatives": len(led), "bureau": bureau, "prefix": prefix}
    db.session.execute(text(sql), bound)
    db.session.execute(text(ANSWERS), {"author": author_id, "bureau": bureau, "pattern": prefix + "%"})
    db.session.execute(text("DROP TABLE export_sentence"))
    db.session.execute(text("DROP TABLE export_initiative"))
    db.session.commit()


def _database_url(tmp: Path) -> str:
    url = os.environ.get("BENCH_DATABASE_URL")
    if not url:
        return f"sqlite:///{tmp / 'export.db'}"
    url = make_url(url)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return url.update_query_dict({"options": f"-csearch_path={SCHEMA}"}).render_as_string(hide_password=False)


def _fresh_schema() -> None:
    from flask_migrate import upgrade

    from feedback_app.extensions import db

    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")  # nosec B608 - a constant
            conn.exec_driver_sql(f"CREATE SCHEMA {SCHEMA}")  # nosec B608 - a constant
    upgrade(directory=str(Path(__file__).resolve().parent.parent / "migrations"))


# The bare baseline: the export's columns and joins, and its answers, with nothing on top.
BARE_VIEWS = """
    SELECT s.id, s.reference, s.created_at, s.routed_at, s.due_at, s.status, s.bureau_code, i.title_en,
        a.name_en, s.language, u.display_name, s.campaign_id, s.body, s.answered_at
    FROM submission s
    LEFT JOIN initiative i ON i.id = s.initiative_id
    LEFT JOIN smart_area a ON a.code = s.area_code
    LEFT JOIN user_account u ON u.id = s.assigned_to_id
    WHERE s.bureau_code = :bureau AND s.status IN ('routed', 'in_progress', 'answered', 'closed')
    ORDER BY s.id
"""
BARE_ANSWERS = """
    SELECT answer.submission_id, answer.bureau_code, answer.created_at, answer.body, answer.translation
    FROM answer JOIN submission s ON s.id = answer.submission_id WHERE s.bureau_code = :bureau
"""


def _rss_kib() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak  # bytes on macOS, KiB on Linux


def _measure(fn) -> tuple[float, int]:
    """(seconds, growth of the process's peak resident set in KiB) of one call."""
    before = _rss_kib()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start, _rss_kib() - before


def _traced_peak(fn) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def run() -> None:
    from feedback_app import create_app
    from feedback_app.auth import services as accounts
    from feedback_app.bureau import export, inbox
    from feedback_app.extensions import db
    from feedback_app.kernel.catalogue import load_reference_data
    from feedback_app.kernel.database import refresh_planner_statistics
    from feedback_app.kernel.models import Role

    with tempfile.TemporaryDirectory() as tmp:
        config = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
        config["SQLALCHEMY_DATABASE_URI"] = _database_url(Path(tmp))
        app = create_app(config)
        with app.app_context():
            dialect = db.engine.dialect.name
            _fresh_schema()
            load_reference_data()
            officer = accounts.create_user(
                "export-bench@example.org", "correct-horse-battery", Role.OFFICER, bureau=BUREAU
            )
            officer_id = officer.id
            started = time.perf_counter()
            fill(ROWS, bureau=BUREAU, author_id=officer_id)
            refresh_planner_statistics()
            filters = inbox.InboxFilter(tab=inbox.Tab.ALL, sort=inbox.Sort.OLDEST)
            now = datetime.now(UTC)
            expected = export.count(filters, BUREAU, officer_id, now=now)
            print(
                f"\nExport at volume on {dialect}: {expected:,} views of one bureau, half of them answered "
                f"(filled in {time.perf_counter() - started:.0f} s)"
            )

            written = []

            def export_csv():
                size = 0
                rows = export.records(filters, BUREAU, officer_id, now=now, personal=True)
                for chunk in export.csv_chunks(rows, personal=True, cut=False):
                    size += len(chunk.encode())
                written.append(size)
                db.session.rollback()

            def bare():
                views = db.session.execute(text(BARE_VIEWS), {"bureau": BUREAU}).fetchall()
                answers = db.session.execute(text(BARE_ANSWERS), {"bureau": BUREAU}).fetchall()
                assert len(views) == expected, (len(views), expected)
                del views, answers
                db.session.rollback()

            export_seconds, export_rss = _measure(export_csv)
            bare_seconds, bare_rss = _measure(bare)
            export_peak = _traced_peak(export_csv)
            bare_peak = _traced_peak(bare)
            mib = 1024 * 1024
            print(f"  CSV written: {written[0] / mib:.1f} MiB")
            print(
                f"  {'export/bare select, time':<34} {export_seconds / bare_seconds:6.2f}x   "
                f"({export_seconds:.2f} s vs {bare_seconds:.2f} s)"
            )
            print(
                f"  {'export/bare select, peak traced':<34} {export_peak / bare_peak:6.3f}x   "
                f"({export_peak / mib:.1f} MiB vs {bare_peak / mib:.1f} MiB, tracemalloc)"
            )
            print(
                f"  {'resident set growth':<34}            "
                f"(export {export_rss / 1024:.1f} MiB, then bare select {bare_rss / 1024:.1f} MiB more; ru_maxrss)"
            )
            db.engine.dispose()
