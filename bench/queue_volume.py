"""The review queue at a million stored views, the backlog among the newest rows.

On PostgreSQL when BENCH_DATABASE_URL is set (in a schema of its own, `bench_queue`, dropped
and made again: nothing else in that database is touched), else on a temporary SQLite file.
Each query is timed through the app's own service (moderation.queue), p50 and p95, next to a
bare indexed `SELECT … LIMIT 50` on the same table timed in the same loop, and printed with its
plan. BENCH_ROWS changes the size (default 1,000,000); BENCH_BACKLOG the share awaiting review.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import current_app
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from config import TestConfig

ROWS = int(os.environ.get("BENCH_ROWS", "1000000"))
BACKLOG = float(os.environ.get("BENCH_BACKLOG", "0.05"))
SCHEMA = "bench_queue"
RUNS = 40
PAGE = 50

# Views are made from these, two by two, so that text search has common and rare words in both
# languages; the numbers make every text different.
SENTENCES = [
    "The buses on my route are always full in the morning.",
    "Please add real-time arrival information at minibus stops.",
    "Smart lampposts should not record faces in public places.",
    "Free public Wi-Fi in the library is too slow to use.",
    "I support electronic payment on every ferry and tram.",
    "The government app asks for the same documents again and again.",
    "More electric vehicle chargers are needed in public car parks.",
    "Hospital appointment booking online should work for the elderly.",
    "港鐵站的升降機經常壞，希望盡快維修。",
    "希望在小巴站提供實時到站資訊。",
    "智慧燈柱收集的數據應該公開透明。",
    "長者不懂用手機申請，應保留櫃台服務。",
    "電動車充電設施太少，停車場應增加。",
    "政府網站應該支援繁體及簡體中文。",
]


def database_url(tmp: Path, schema: str = SCHEMA) -> str:
    """BENCH_DATABASE_URL with `schema` first on its search path, else a SQLite file in `tmp`."""
    url = os.environ.get("BENCH_DATABASE_URL")
    if not url:
        return f"sqlite:///{tmp / (schema + '.db')}"
    url = make_url(url)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)


@contextmanager
def bench_app(schema: str = SCHEMA) -> Iterator[None]:
    """The app on the bench's database (see database_url), inside its application context."""
    from feedback_app import create_app

    with tempfile.TemporaryDirectory() as tmp:
        config = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
        config["SQLALCHEMY_DATABASE_URI"] = database_url(Path(tmp), schema)
        app = create_app(config)
        with app.app_context():
            yield


def fresh_schema(schema: str = SCHEMA) -> None:
    """The schema dropped and made again by the migrations (PostgreSQL); a new file on SQLite."""
    from flask_migrate import upgrade

    from feedback_app.extensions import db

    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")  # nosec B608 - the bench's own name
            conn.exec_driver_sql(f"CREATE SCHEMA {schema}")  # nosec B608 - the bench's own name
    upgrade(directory=str(Path(__file__).resolve().parent.parent / "migrations"))


def drop_schema(schema: str = SCHEMA) -> None:
    from feedback_app.extensions import db

    db.session.rollback()  # end the session's transaction: its locks would hold the DROP forever
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")  # nosec B608 - the bench's own name


# The created time differs by dialect; everything else is bound (:rows, :backlog, :n sentences).
CREATED_POSTGRESQL = "now() - (:rows - g.i) * interval '30 seconds'"
CREATED_SQLITE = "strftime('%Y-%m-%d %H:%M:%f', 'now', '-' || ((:rows - g.i) * 30) || ' seconds')"
FILL = """
    WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < :rows)
    INSERT INTO submission (reference, tracking_token_hash, body, language, initiative_id, topic_area_code,
        status, visibility, flags, review_priority, predicted_area_code, predicted_area_p,
        predicted_bureau_code, predicted_bureau_p, area_code, bureau_code, created_at, updated_at, version)
    SELECT 'SCF-B-' || g.i, '0000000000000000000000000000000000000000000000000000000000000000',
        s1.body || ' ' || s2.body || ' (' || g.i || ')',
        CASE WHEN s1.n >= 8 THEN 'zh_Hant' ELSE 'en' END,
        ini.id, ini.area_code,
        CASE WHEN g.i > :rows - :backlog THEN 'needs_review' ELSE 'routed' END,
        CASE WHEN g.i > :rows - :backlog THEN 'pending' ELSE 'published' END,
        CASE WHEN g.i > :rows - :backlog AND g.i % 40 = 0 THEN 'link_spam' ELSE '' END,
        CASE WHEN g.i > :rows - :backlog AND g.i % 40 = 0 THEN 0
             WHEN ((g.i * 37) % 100) / 100.0 < 0.5 THEN 1 ELSE 2 END,
        ini.area_code, 0.9, ini.lead_bureau_code, ((g.i * 37) % 100) / 100.0,
        CASE WHEN g.i > :rows - :backlog THEN NULL ELSE ini.area_code END,
        CASE WHEN g.i > :rows - :backlog THEN NULL ELSE ini.lead_bureau_code END,
        :created, :created, 1
    FROM g
    JOIN bench_sentence s1 ON s1.n = g.i % :n
    JOIN bench_sentence s2 ON s2.n = (g.i / 7) % :n
    JOIN bench_initiative ini ON ini.n = g.i % (SELECT count(*) FROM bench_initiative)
"""


def helper_tables() -> None:
    """Temporary tables a fill joins its counter with: bench_sentence (n, body) and
    bench_initiative (id, area_code, lead_bureau_code, n numbered from 0)."""
    from feedback_app.extensions import db

    db.session.execute(text("CREATE TEMPORARY TABLE bench_sentence (n INTEGER PRIMARY KEY, body TEXT)"))
    db.session.execute(
        text("INSERT INTO bench_sentence (n, body) VALUES (:n, :body)"),
        [{"n": n, "body": body} for n, body in enumerate(SENTENCES)],
    )
    db.session.execute(
        text(
            "CREATE TEMPORARY TABLE bench_initiative AS SELECT id, area_code, lead_bureau_code, "
            "(SELECT count(*) FROM initiative b WHERE b.id < a.id) AS n FROM initiative a"
        )
    )


def _fill(rows: int, backlog: int) -> None:
    """One INSERT … SELECT over a counter: a million rows in seconds, the same SQL on both."""
    from feedback_app.extensions import db

    postgres = db.engine.dialect.name == "postgresql"
    helper_tables()
    created = CREATED_POSTGRESQL if postgres else CREATED_SQLITE
    db.session.execute(text(FILL.replace(":created", created)), {"rows": rows, "backlog": backlog, "n": len(SENTENCES)})
    db.session.commit()


KEYED = int(os.environ.get("BENCH_KEYED", "100000"))


def _combo_text(n: int) -> str:
    return SENTENCES[n // len(SENTENCES)] + " " + SENTENCES[n % len(SENTENCES)]


def _fill_near_duplicates(rows: int, keyed: int) -> None:
    """Band keys and signatures for the newest `keyed` views, as the worker would have stored
    them. Views are made of 196 sentence pairs, so each pair is a campaign of thousands: the
    worst case for a lookup (hot keys), not the typical one."""
    from feedback_app.extensions import db
    from feedback_app.text import near_duplicates

    db.session.execute(text("CREATE TEMPORARY TABLE bench_combo (combo INTEGER, key BIGINT)"))
    db.session.execute(
        text(
            "CREATE TEMPORARY TABLE bench_combo_sig (combo INTEGER PRIMARY KEY, sig "
            + ("BYTEA" if db.engine.dialect.name == "postgresql" else "BLOB")
            + ")"
        )
    )
    combos, signatures = [], []
    for n in range(len(SENTENCES) ** 2):
        signature = near_duplicates.signature(_combo_text(n))
        signatures.append({"combo": n, "sig": signature.to_bytes()})
        combos += [{"combo": n, "key": key} for key in set(near_duplicates.band_keys(signature))]
    db.session.execute(text("INSERT INTO bench_combo (combo, key) VALUES (:combo, :key)"), combos)
    db.session.execute(text("INSERT INTO bench_combo_sig (combo, sig) VALUES (:combo, :sig)"), signatures)
    # Row i was made of sentences i % 14 and (i / 7) % 14 (see _fill); ids are 1..rows in order.
    bound = {"first": rows - keyed, "n": len(SENTENCES)}
    db.session.execute(
        text(
            "INSERT INTO near_duplicate_key (key, submission_id) SELECT DISTINCT c.key, submission.id FROM submission "
            "JOIN bench_combo c ON c.combo = (submission.id % :n) * :n + (submission.id / 7) % :n "
            "WHERE submission.id > :first"
        ),
        bound,
    )
    db.session.execute(
        text(
            "UPDATE submission SET near_signature = (SELECT c.sig FROM bench_combo_sig c "
            "WHERE c.combo = (submission.id % :n) * :n + (submission.id / 7) % :n) WHERE submission.id > :first"
        ),
        bound,
    )
    db.session.commit()


def refresh_statistics() -> None:
    from feedback_app.extensions import db
    from feedback_app.kernel.database import refresh_planner_statistics

    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")  # index-only scans need the visibility map
    else:
        refresh_planner_statistics()


def times(fn, runs=RUNS) -> list[float]:
    for _ in range(3):
        fn()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def percentile(samples: list[float], q: float) -> float:
    return statistics.quantiles(samples, n=100)[int(q) - 1] if len(samples) > 1 else samples[0]


def compare(fn, bare, runs=RUNS) -> tuple[list[float], list[float]]:
    """`fn` and the baseline timed in turn, so that both see the same machine."""
    ours: list[float] = []
    base: list[float] = []
    for _ in range(runs):
        ours += times(fn, 1)
        base += times(bare, 1)
    return ours, base


def timing_line(name: str, ours: list[float], base: list[float], width: int = 34) -> str:
    """name, p50 and p95 in ms, the baseline's p50, and the ratio of the p50s."""
    p50 = percentile(ours, 50)
    return (
        f"{name:<{width}} {p50 * 1e3:8.2f} {percentile(ours, 95) * 1e3:8.2f} "
        f"{percentile(base, 50) * 1e3:9.2f} {p50 / percentile(base, 50):9.2f}x"
    )


def plan(statement) -> list[str]:
    from feedback_app.extensions import db

    sql = str(statement.compile(db.engine, compile_kwargs={"literal_binds": True}))
    if db.engine.dialect.name == "postgresql":
        rows = db.session.execute(text("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF, SUMMARY OFF) " + sql))
        return [row[0] for row in rows]
    return [row[3] for row in db.session.execute(text("EXPLAIN QUERY PLAN " + sql))]


def _suggestions(keyed: int, bare) -> None:
    # As a resident's request asks them: the mask tokens are in the request's language.
    with current_app.test_request_context("/"):
        _suggestions_in_a_request(keyed, bare)


def _suggestions_in_a_request(keyed: int, bare) -> None:
    """The submission form's suggestions for a draft (public.services.similar_published), once
    the keyed views are grouped into one campaign per sentence pair: half of each campaign
    published (the older half), half waiting, so the newest published copy lies behind hundreds
    of waiting ones; and campaigns nobody has published (hidden), whose draft must cost what a
    draft like nothing costs."""
    from feedback_app.campaigns import services as campaigns
    from feedback_app.extensions import db
    from feedback_app.public import services as public
    from feedback_app.text import near_duplicates

    n = len(SENTENCES)
    db.session.execute(
        text("INSERT INTO campaign (id, created_at) VALUES (:id, CURRENT_TIMESTAMP)"),
        [{"id": combo + 1} for combo in range(n * n)],
    )
    db.session.execute(
        text("UPDATE submission SET campaign_id = (id % :n) * :n + (id / 7) % :n + 1 WHERE id > :first"),
        {"n": n, "first": ROWS - keyed},
    )
    # Every campaign with the last sentence hidden (a draft of it shares words with no published
    # view), their keys marked so, as the workflow would have.
    hidden = n * n - 1
    db.session.execute(
        text(
            "UPDATE submission SET visibility = 'hidden' WHERE id > :first AND (id % :n = :last OR (id / 7) % :n = :last)"
        ),
        {"n": n, "first": ROWS - keyed, "last": n - 1},
    )
    db.session.execute(
        text(
            "UPDATE near_duplicate_key SET published = :yes WHERE submission_id IN "
            "(SELECT id FROM submission WHERE visibility = 'published' AND status != 'rejected')"
        ),
        {"yes": True},
    )
    db.session.commit()
    refresh_statistics()
    print("Suggestions while a resident types (published views' keys only; a campaign at its newest published copy):")

    def time_draft(name: str, draft: str) -> float:
        found = public.similar_published(draft)
        db.session.rollback()
        ours, base = compare(lambda: (public.similar_published(draft), db.session.rollback()), bare)
        print(f"  {timing_line(name, ours, base, 40)}   ({len(found)} suggested)")
        return percentile(ours, 50)

    time_draft("a draft copying a campaign", "Dear Sir, " + _combo_text(18))
    time_draft("a draft like nothing published", "My neighbourhood needs a covered walkway to the ferry pier.")
    draft = "Dear Sir, " + _combo_text(hidden)
    while_hidden = time_draft("a draft copying hidden campaigns", draft)
    # The same draft once those campaigns' keys are gone altogether, as if never sent: what it
    # must cost (the last measure of the bench, so nothing after it misses them).
    db.session.execute(
        text(
            "DELETE FROM near_duplicate_key WHERE submission_id IN "
            "(SELECT id FROM submission WHERE visibility = 'hidden')"
        )
    )
    db.session.commit()
    never_sent = time_draft("the same, those campaigns never sent", draft)
    print(f"  hidden / never sent: {while_hidden / never_sent:.2f}x (p50)")
    keys = near_duplicates.band_keys(near_duplicates.signature("Dear Sir, " + _combo_text(hidden)))
    for line in plan(campaigns.candidates(sorted(set(keys)), published=True)):
        print(f"      {line}")
    db.session.rollback()


def suggestions_only() -> None:
    """`python -m bench suggestions`: the views, their keys and the suggestions, without the queue."""
    from feedback_app.extensions import db
    from feedback_app.kernel.catalogue import load_reference_data

    with bench_app():
        fresh_schema()
        load_reference_data()
        _fill(ROWS, int(ROWS * BACKLOG))
        keyed = min(KEYED, ROWS)
        _fill_near_duplicates(ROWS, keyed)
        refresh_statistics()
        print(f"\nOn {db.engine.dialect.name}: {ROWS:,} views, the newest {keyed:,} with band keys; {RUNS} runs each")

        def bare():
            db.session.execute(
                text(
                    "SELECT id, reference, created_at, status, predicted_bureau_code, predicted_bureau_p "
                    "FROM submission WHERE id > :after ORDER BY id LIMIT 50"
                ),
                {"after": ROWS // 2},
            ).all()
            db.session.rollback()

        _suggestions(keyed, bare)
        drop_schema()


def run() -> None:
    from feedback_app.campaigns import services as campaigns
    from feedback_app.extensions import db
    from feedback_app.kernel.catalogue import load_reference_data
    from feedback_app.kernel.models import Submission
    from feedback_app.moderation import queue
    from feedback_app.text import near_duplicates

    with bench_app():
        dialect = db.engine.dialect.name
        fresh_schema()
        load_reference_data()
        backlog = int(ROWS * BACKLOG)
        started = time.perf_counter()
        _fill(ROWS, backlog)
        keyed = min(KEYED, ROWS)
        _fill_near_duplicates(ROWS, keyed)
        refresh_statistics()
        print(
            f"\nReview queue at volume on {dialect}: {ROWS:,} views, the newest {backlog:,} awaiting review "
            f"(filled in {time.perf_counter() - started:.0f} s); {RUNS} runs each, page of {PAGE}"
        )

        middle = ROWS // 2

        def bare():
            db.session.execute(
                text(
                    "SELECT id, reference, created_at, status, predicted_bureau_code, predicted_bureau_p "
                    "FROM submission WHERE id > :after ORDER BY id LIMIT 50"
                ),
                {"after": middle},
            ).all()
            db.session.rollback()

        deep_after = db.session.execute(
            select(Submission.id)
            .where(queue.IN_QUEUE)
            .order_by(Submission.review_priority, Submission.id)
            .offset(backlog // 2 - 1)
            .limit(1)
        ).scalar_one()
        cases = [
            ("first page", queue.QueueFilter(), None),
            (f"deep page (view {backlog // 2:,})", queue.QueueFilter(), deep_after),
            ("oldest first", queue.QueueFilter(sort=queue.Sort.AGE), None),
            ("least sure first", queue.QueueFilter(sort=queue.Sort.CONFIDENCE), None),
            ("filter: predicted bureau", queue.QueueFilter(bureau="EEB"), None),
            ("filter: flagged", queue.QueueFilter(flag="any"), None),
            (
                "filter: initiative",
                queue.QueueFilter(initiative=db.session.execute(text("SELECT max(id) FROM initiative")).scalar_one()),
                None,
            ),
            ("filter: text 'lampposts'", queue.QueueFilter(text="lampposts"), None),
            ("filter: text '升降機'", queue.QueueFilter(text="升降機"), None),
            ("filter: text '升降機', next page", queue.QueueFilter(text="升降機"), "next"),
            ("filter: text '輕鐵' (in none)", queue.QueueFilter(text="輕鐵"), None),
            ("filter: routed to, by bureau", queue.QueueFilter(status="routed", final_bureau="EEB"), None),
            ("filter: routed to, by bureau, p. 2", queue.QueueFilter(status="routed", final_bureau="EEB"), "next"),
            ("filter: routed", queue.QueueFilter(status="routed"), None),
            ("filter: routed to, in the backlog", queue.QueueFilter(final_bureau="EEB"), None),
        ]
        print(f"{'query':<34} {'p50 ms':>8} {'p95 ms':>8} {'bare p50':>9} {'ratio p50':>10}")
        for name, filters, after in cases:
            if after == "next":  # the second page, through the first page's link
                after = queue.page(filters, after=None, size=PAGE).next_after
                db.session.rollback()
            # Called at once, in this iteration: the loop variables are the ones meant.
            ours, base = compare(lambda: (queue.page(filters, after=after, size=PAGE), db.session.rollback()), bare)  # noqa: B023
            print(timing_line(name, ours, base))
            walk = queue.walks(filters, PAGE)  # the statement page() tries first
            for line in plan(queue.statement(filters, after=after, size=PAGE, walk=walk)):
                print(f"      {line}")
        counts = times(lambda: (queue.count_backlog(), db.session.rollback()), 10)
        capped = times(lambda: (queue.matching_count(queue.QueueFilter(status="routed")), db.session.rollback()), 10)
        base = times(bare, 10)
        print(timing_line("counts over the backlog", counts, base))
        for line in plan(queue.count_backlog_statement()):
            print(f"      {line}")
        print(timing_line("count of routed (capped)", capped, base))
        for line in plan(queue.matching_count_statement(queue.QueueFilter(status="routed"))):
            print(f"      {line}")
        print(f"Near copies of one new view ({keyed:,} views with band keys, {keyed * near_duplicates.BANDS:,} keys):")
        for name, new_view in (
            ("a copy of a large campaign", _combo_text(18) + " Thank you."),
            ("an unrelated view", "My neighbourhood needs a covered walkway to the ferry pier."),
        ):

            def detect():
                signature = near_duplicates.signature(new_view)  # noqa: B023 - timed within this iteration
                campaigns.closest_copy(signature, near_duplicates.band_keys(signature))
                db.session.rollback()

            found = campaigns.closest_copy(
                near_duplicates.signature(new_view), near_duplicates.band_keys(near_duplicates.signature(new_view))
            )
            db.session.rollback()
            ours, base = compare(detect, bare)
            print(
                f"  {timing_line(name, ours, base, 32)}   (signature, keys, lookup, confirmation; "
                f"{'a copy found' if found is not None else 'no copy'})"
            )
            for line in plan(campaigns.candidates(near_duplicates.band_keys(near_duplicates.signature(new_view)))):
                print(f"      {line}")
            db.session.rollback()
        _suggestions(keyed, bare)
        drop_schema()
