"""Open data at 1,000,000 published views: views.csv and views.json streamed through the app, time
and peak memory, against a bare fetch of the same columns.

`python -m bench opendata`. On PostgreSQL when BENCH_DATABASE_URL is set (in a schema of its own,
`bench_opendata`, dropped and made again), else on a temporary SQLite file. BENCH_OPENDATA_ROWS
changes the size (default 1,000,000); BENCH_OPENDATA_TRACE=0 skips the tracemalloc runs (each
export once more, several times slower under tracing). The views are filled as
bench/export_volume.py fills them (one INSERT … SELECT; half answered, in both languages), every
one published, one in twenty a copy in a campaign.

Each export is timed as a client gets it: a GET through the app's test client, the streamed body
read chunk by chunk and thrown away. The baseline, in the same run: a bare SELECT of the columns
the export reads (and the answers'), fetched with fetchall() — what an export that built its file
in memory would hold before writing a byte. Peak memory twice: Python's allocations (tracemalloc,
in runs of their own) and the growth of the process's resident set (ru_maxrss, a high-water
mark: the exports run before the baseline, or its peak would hide theirs).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

from config import TestConfig

from . import export_volume

ROWS = int(os.environ.get("BENCH_OPENDATA_ROWS", "1000000"))
TRACE = os.environ.get("BENCH_OPENDATA_TRACE", "1") != "0"
SCHEMA = "bench_opendata"
BUREAU = "TLB"
PREFIX = "OPEN-"

CAMPAIGNS = """
    WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < :campaigns)
    INSERT INTO campaign (id, created_at) SELECT i, CURRENT_TIMESTAMP FROM g
"""
# One view in twenty joins a campaign of about five copies; every view is published.
SHAPE = """
    UPDATE submission SET visibility = 'published',
        campaign_id = CASE WHEN id % 20 = 0 THEN (id / 100) % :campaigns + 1 END
"""
BARE_VIEWS = """
    SELECT s.id, s.reference, s.created_at, s.language, s.topic_area_code, i.code, s.body, s.public_text,
        s.not_personal, s.status, s.closing_note, s.campaign_id
    FROM submission s LEFT JOIN initiative i ON i.id = s.initiative_id
    WHERE s.visibility = 'published' AND s.status <> 'rejected'
    ORDER BY s.id
"""
BARE_ANSWERS = """
    SELECT answer.submission_id, answer.bureau_code, answer.created_at, answer.body, answer.language,
        answer.translation
    FROM answer ORDER BY answer.submission_id, answer.created_at, answer.id
"""


def _fill(rows: int, author_id: int) -> None:
    from feedback_app.extensions import db

    export_volume.fill(rows, bureau=BUREAU, author_id=author_id, prefix=PREFIX)
    campaigns = max(1, rows // 100)
    db.session.execute(text(CAMPAIGNS), {"campaigns": campaigns})
    db.session.execute(text(SHAPE), {"campaigns": campaigns})
    db.session.commit()


def run() -> None:
    from feedback_app import create_app
    from feedback_app.auth import services as accounts
    from feedback_app.extensions import db
    from feedback_app.kernel import public
    from feedback_app.kernel.catalogue import load_reference_data
    from feedback_app.kernel.database import refresh_planner_statistics
    from feedback_app.kernel.models import Role

    with tempfile.TemporaryDirectory() as tmp:
        config = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
        config["SQLALCHEMY_DATABASE_URI"] = export_volume._database_url(Path(tmp)).replace(export_volume.SCHEMA, SCHEMA)
        app = create_app(config)
        with app.app_context():
            dialect = db.engine.dialect.name
            _fresh_schema(dialect)
            load_reference_data()
            officer = accounts.create_user(
                "opendata-bench@example.org", "correct-horse-battery", Role.OFFICER, bureau=BUREAU
            )
            started = time.perf_counter()
            _fill(ROWS, officer.id)
            public.mark_changed()
            db.session.commit()
            refresh_planner_statistics()
            published = db.session.execute(
                text("SELECT count(*) FROM submission WHERE visibility = 'published'")
            ).scalar_one()
            print(
                f"\nOpen data at volume on {dialect}: {published:,} published views, half answered, one in twenty "
                f"in a campaign (filled in {time.perf_counter() - started:.0f} s)"
            )
            initiative = db.session.execute(
                text("SELECT i.code FROM initiative i JOIN submission s ON s.initiative_id = i.id LIMIT 1")
            ).scalar_one()
            db.session.remove()

        client = app.test_client()
        written: dict[str, int] = {}

        def download(name: str):
            def get() -> None:
                response = client.get(f"/open-data/{name}")
                assert response.status_code == 200, response.status_code
                size = 0
                for chunk in response.response:
                    size += len(chunk)
                response.close()
                written[name] = size

            return get

        def bare() -> None:
            with app.app_context():
                views = db.session.execute(text(BARE_VIEWS)).fetchall()
                answers = db.session.execute(text(BARE_ANSWERS)).fetchall()
                assert len(views) == published, (len(views), published)
                del views, answers
                db.session.remove()

        measured = {name: export_volume._measure(download(name)) for name in ("views.csv", "views.json")}
        bare_seconds, bare_rss = export_volume._measure(bare)
        traced = {}
        if TRACE:
            traced = {name: export_volume._traced_peak(download(name)) for name in measured}
            traced["bare"] = export_volume._traced_peak(bare)
        mib = 1024 * 1024
        for name, (seconds, rss) in measured.items():
            print(f"  {name}: {written[name] / mib:,.0f} MiB in {seconds:.1f} s ({published / seconds:,.0f} rows/s)")
            print(
                f"  {f'{name}/bare select, time':<34} {seconds / bare_seconds:6.2f}x   "
                f"({seconds:.1f} s vs {bare_seconds:.1f} s)"
            )
            if TRACE:
                print(
                    f"  {f'{name}/bare select, peak traced':<34} {traced[name] / traced['bare']:6.3f}x   "
                    f"({traced[name] / mib:.1f} MiB vs {traced['bare'] / mib:.1f} MiB, tracemalloc)"
                )
            print(f"  {f'{name} resident set growth':<34}            ({rss / 1024:.1f} MiB; ru_maxrss)")
        print(f"  {'bare select resident set growth':<34}            ({bare_rss / 1024:.1f} MiB more; ru_maxrss)")
        # A feed of the newest 50 answers, the first request of a version (then the shared cache).
        for url in (f"/bureaus/{BUREAU}/answers.atom", f"/initiatives/{initiative}/answers.atom"):
            start = time.perf_counter()
            assert client.get(url).status_code == 200
            print(f"  {url + ', uncached':<34}            ({(time.perf_counter() - start) * 1e3:.0f} ms)")
        with app.app_context():
            db.engine.dispose()


def _fresh_schema(dialect: str) -> None:
    from flask_migrate import upgrade

    from feedback_app.extensions import db

    if dialect == "postgresql":
        with db.engine.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")  # nosec B608 - a constant
            conn.exec_driver_sql(f"CREATE SCHEMA {SCHEMA}")  # nosec B608 - a constant
    upgrade(directory=str(Path(__file__).resolve().parent.parent / "migrations"))


if __name__ == "__main__":
    run()
