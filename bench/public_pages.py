"""Public pages over HTTP: each page's requests per second against a bare Flask "hello".

Both are served by the same gunicorn (workers, clients, database kind) in the same run and loaded
alternately, so the ratio holds on a noisy shared machine. The real app serves what most people
see: the home page, a smart area with published general views, an initiative with 50 published
views and answers (a page of PAGE_SIZE shown), a published view's page, a search, and the
statistics page. Each request is a new visitor's (a new connection, no cookie): what a search
engine or a link shared on social media brings. A second line measures the view page and the
initiative page for a visitor who holds a session already (the page carries their CSRF token,
so only its shared parts come from the cache). Without REDIS_URL the cache is each worker's
memory, as on one machine.
"""

from __future__ import annotations

import http.client
import os
import statistics
import subprocess  # nosec B404 - the benchmark starts its own servers
import sys
import tempfile
import threading
import time
from pathlib import Path

from flask import Flask

from .submit_http import BENCH_SECRET_KEY, ROOT, _serve

CLIENTS = 4
SECONDS = 2.0
ROUNDS = 3
INITIATIVE_VIEWS = 50
AREA = "mobility"
TARGET = 0.3

# The baseline: the least a Flask app can do for a GET (`bench.public_pages:hello_app`).
hello_app = Flask(__name__)


@hello_app.get("/")
def hello():
    return "Hello, world"


def _load(port: int, path: str, cookie: str | None = None) -> float:
    """Requests per second that CLIENTS threads complete in SECONDS (each must be a 200)."""
    done = [0] * CLIENTS
    failures: list[str] = []
    deadline = time.monotonic() + SECONDS
    headers = {"Cookie": cookie} if cookie else {}

    def client(n: int) -> None:
        while time.monotonic() < deadline:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            response.read()
            connection.close()
            if response.status != 200:
                failures.append(f"HTTP {response.status} for {path}")
                return
            done[n] += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise RuntimeError(failures[0])
    return sum(done) / SECONDS


def _seed(database_url: str, folder: Path) -> dict[str, str]:
    """Published views through the app's own services: 50 on one initiative and 20 general ones
    on a smart area, each answered by the bureau. Returns the paths to measure."""
    from config import Config
    from feedback_app import create_app
    from feedback_app.auth import services as accounts
    from feedback_app.bureau import services as bureau
    from feedback_app.extensions import db
    from feedback_app.intake import services as intake
    from feedback_app.kernel import catalogue
    from feedback_app.kernel.models import Role, Submission, Visibility
    from feedback_app.moderation import services as moderation

    config = {k: getattr(Config, k) for k in dir(Config) if k.isupper()}
    config.update(
        SQLALCHEMY_DATABASE_URI=database_url,
        SECRET_KEY=BENCH_SECRET_KEY,
        TASK_QUEUE_PATH=str(folder / "tasks.sqlite3"),
        CACHE_TYPE="NullCache",
        CACHE_NO_NULL_WARNING=True,
    )
    app = create_app(config)
    with app.app_context():
        moderator = accounts.create_user("moderator@bench.example", "bench-password-1", Role.MODERATOR)
        officer = accounts.create_user("officer@bench.example", "bench-password-1", Role.OFFICER, bureau="TLB")
        initiative = next(i for i in catalogue.initiative_refs().values() if i.area_code == AREA)

        def publish(body: str, initiative_id: int | None) -> Submission:
            receipt = intake.submit(
                intake.NewSubmission(body=body, language="en", topic_area=AREA, initiative_id=initiative_id)
            )
            db.session.commit()
            sub = db.session.get(Submission, receipt.submission_id)
            moderation.route(sub.id, area=AREA, bureau="TLB", actor=moderator, version=sub.version)
            db.session.commit()
            sub = db.session.get(Submission, sub.id)
            if sub.visibility != Visibility.PUBLISHED:
                moderation.set_visibility(sub.id, visibility=Visibility.PUBLISHED, actor=moderator, version=sub.version)
                db.session.commit()
            bureau.answer(
                officer,
                sub.id,
                bureau.AnswerText(
                    f"Thank you. The Transport Department will review the **bus stops** you name ({sub.reference}) "
                    "and reply within 30 days; call our hotline for details.",
                    None,
                ),
            )
            db.session.commit()
            return sub

        views = [
            publish(
                f"View {n}: the bus stops on Nathan Road need real-time arrival boards and shelters; "
                f"call me on 9{n:03d} 4567 if you need details.",
                initiative.id,
            )
            for n in range(INITIATIVE_VIEWS)
        ]
        for n in range(20):
            publish(f"General view {n}: smart parking meters in Kowloon should show free spaces online.", None)
        paths = {
            "home": "/",
            "smart area": f"/areas/{AREA}",
            f"initiative ({INITIATIVE_VIEWS} views)": f"/initiatives/{initiative.code}",
            "published view": f"/views/{views[-1].reference}",
            "search": "/views?q=bus+stops",
        }
        if "public.statistics" in app.view_functions:
            paths["statistics"] = "/statistics"
        db.session.remove()
        db.engine.dispose()
    return paths


def _session_cookie(port: int, path: str) -> str:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", path)
    response = connection.getresponse()
    response.read()
    connection.close()
    return response.getheader("Set-Cookie").split(";", 1)[0]


def run() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        base = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "REDIS_", "TASK", "RATELIMIT_"))}
        database_url = f"sqlite:///{folder / 'real.db'}"
        real_env = dict(
            base,
            DATABASE_URL=database_url,
            SECRET_KEY=BENCH_SECRET_KEY,
            ALLOW_DEMO_ACCOUNTS="0",
            TASK_QUEUE_PATH=str(folder / "tasks.sqlite3"),
            FLASK_APP="wsgi:app",
            PYTHONPATH=str(ROOT),
        )
        for command in (["db", "upgrade"], ["catalogue", "load"]):
            subprocess.run(  # nosec B603 - the virtualenv's own python, fixed arguments
                [sys.executable, "-m", "flask", *command], cwd=ROOT, env=real_env, check=True, capture_output=True
            )
        paths = _seed(database_url, folder)
        subprocess.run(  # nosec B603 - as above; the statistics' rollups, as the worker keeps them
            [sys.executable, "-m", "flask", "stats", "rebuild"],
            cwd=ROOT,
            env=real_env,
            check=False,
            capture_output=True,
        )
        real, real_port = _serve("wsgi:app", real_env, folder / "real.log")
        hello, hello_port = _serve(
            "bench.public_pages:hello_app", dict(base, PYTHONPATH=str(ROOT)), folder / "hello.log"
        )
        try:
            for name, path in list(paths.items()):  # warm each worker's reference data and cache
                for _ in range(4):
                    if not _load_once(real_port, path):
                        print(f"{'  ' + name:<34} not served here ({path})")
                        del paths[name]
                        break
            with_session = {
                "published view, with a session": paths["published view"],
                "initiative, with a session": next(p for n, p in paths.items() if n.startswith("initiative")),
            }
            cookie = _session_cookie(real_port, paths["published view"])
            rates: dict[str, list[float]] = {name: [] for name in [*paths, *with_session]}
            hello_rates = []
            for _ in range(ROUNDS):
                hello_rates.append(_load(hello_port, "/"))
                for name, path in paths.items():
                    rates[name].append(_load(real_port, path))
                for name, path in with_session.items():
                    rates[name].append(_load(real_port, path, cookie))
        finally:
            for process in (real, hello):
                process.terminate()
                process.wait(timeout=30)
        hello_rate = statistics.median(hello_rates)
        print(f"{'public pages over HTTP':<34} (requests/s, median of {ROUNDS}; gunicorn, {CLIENTS} clients, SQLite)")
        print(f"{'  hello (bare Flask)':<34} {hello_rate:8.0f}/s")
        for name, samples in rates.items():
            rate = statistics.median(samples)
            mark = "" if rate / hello_rate >= TARGET else f"   below the {TARGET}x aim"
            print(f"{'  ' + name:<34} {rate:8.0f}/s  {rate / hello_rate:6.3f}x{mark}")


def _load_once(port: int, path: str) -> bool:
    """One GET; whether it was a 200 (an older version of the app may not have the page)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", path)
    response = connection.getresponse()
    response.read()
    connection.close()
    return response.status == 200


if __name__ == "__main__":
    run()
