"""Submit throughput over HTTP: the real app against a bare Flask + SQLAlchemy insert app.

Both are served by gunicorn with the same workers, on the same kind of database, and loaded by
the same clients in the same run, alternately, so the ratio holds on a noisy shared machine.
The real app does what a resident's sending does: CSRF and form checks, the rate limit, storing
the view with its reference and audit event in one transaction, and queueing its routing for the
worker (no worker runs here: routing is not part of the request).
"""

from __future__ import annotations

import http.client
import os
import re
import socket
import statistics
import subprocess  # nosec B404 - the benchmark starts its own servers
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
WORKERS = 2
CLIENTS = 4
SECONDS = 4.0
ROUNDS = 3
INITIATIVE = "franchised-bus-real-time-arrival"
FORM_PATH = f"/initiatives/{INITIATIVE}/views/new"
CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serve(app: str, env: dict, log: Path) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    with open(log, "w") as out:
        process = subprocess.Popen(  # nosec B603 - fixed arguments, the virtualenv's own gunicorn
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "--workers",
                str(WORKERS),
                "--bind",
                f"127.0.0.1:{port}",
                app,
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process, port
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"{app} did not start:\n{log.read_text()}")


def _load(port: int, make_request) -> float:
    """Requests per second that CLIENTS threads complete in SECONDS (each must be a redirect)."""
    done = [0] * CLIENTS
    failures: list[str] = []
    deadline = time.monotonic() + SECONDS

    def client(n: int) -> None:
        send = make_request()
        while time.monotonic() < deadline:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            path, body, headers = send()
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            connection.close()
            if response.status not in (302, 303):
                failures.append(f"HTTP {response.status}")
                return
            done[n] += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise RuntimeError(f"a request failed: {failures[0]}")
    return sum(done) / SECONDS


BENCH_SECRET_KEY = "bench-secret-key"  # nosec B105


def _real_sender(port: int, with_email: bool = False):
    from itsdangerous import URLSafeTimedSerializer

    from feedback_app.intake.forms import SENDING_CODE_SALT
    from feedback_app.intake.services import new_form_token

    # What the form page would carry: a one-time token signed with the server's key.
    codes = URLSafeTimedSerializer(BENCH_SECRET_KEY, salt=SENDING_CODE_SALT)

    def make_request():
        # Each client is one browser: one session (cookie and CSRF token), then one fresh form
        # token and a different text per sending, as a resident sending several views.
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("GET", FORM_PATH)
        response = connection.getresponse()
        html = response.read().decode()
        cookie = response.getheader("Set-Cookie").split(";", 1)[0]
        csrf = CSRF_RE.search(html).group(1)
        counter = iter(range(10**9))

        def send():
            n = next(counter)
            fields = {
                "csrf_token": csrf,
                "form_token": codes.dumps(new_form_token()),
                "initiative": INITIATIVE,
                "body": f"View {n} from a benchmark client: the buses on route 960 are full every morning.",
            }
            if with_email:  # the receipt is written to the outbox in the view's transaction
                fields["email"] = f"bench.{id(codes)}.{n}@example.org"
            body = urlencode(fields)
            return FORM_PATH, body, {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie}

        return send

    return make_request


def _bare_sender():
    def send():
        body = urlencode({"body": "A view from a benchmark client: the buses on route 960 are full every morning."})
        return "/views", body, {"Content-Type": "application/x-www-form-urlencoded"}

    return lambda: send


def run() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        base = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "REDIS_", "TASK", "RATELIMIT_"))}
        real_env = dict(
            base,
            DATABASE_URL=f"sqlite:///{folder / 'real.db'}",
            SECRET_KEY=BENCH_SECRET_KEY,
            ALLOW_DEMO_ACCOUNTS="0",
            TASK_QUEUE_PATH=str(folder / "tasks.sqlite3"),
            SUBMISSION_RATE_LIMIT="1000000 per minute",
            FLASK_APP="wsgi:app",
            PYTHONPATH=str(ROOT),
            # The clients send as fast as they can from one page each: a person's fill time is not
            # part of the server's cost (the check, skipped here, is one signature to verify).
            SUBMISSION_MIN_FILL_SECONDS="0",
        )
        for command in (["db", "upgrade"], ["catalogue", "load"]):
            subprocess.run(
                [sys.executable, "-m", "flask", *command],
                cwd=ROOT,
                env=real_env,  # nosec B603
                check=True,
                capture_output=True,
            )
        bare_env = dict(base, BARE_DATABASE_URL=f"sqlite:///{folder / 'bare.db'}", PYTHONPATH=str(ROOT))
        real, real_port = _serve("wsgi:app", real_env, folder / "real.log")
        bare, bare_port = _serve("bench.bare_app:app", bare_env, folder / "bare.log")
        try:
            real_rates, bare_rates, mail_rates = [], [], []
            for _ in range(ROUNDS):
                bare_rates.append(_load(bare_port, _bare_sender()))
                real_rates.append(_load(real_port, _real_sender(real_port)))
                mail_rates.append(_load(real_port, _real_sender(real_port, with_email=True)))
        finally:
            for process in (real, bare):
                process.terminate()
                process.wait(timeout=30)
        real_rate, bare_rate = statistics.median(real_rates), statistics.median(bare_rates)
        # Throughput, so higher is better: the real app's share of what the bare insert reaches.
        print(
            f"{'submit over HTTP: app/bare insert':<34} {real_rate / bare_rate:6.3f}x   (throughput, median of "
            f"{ROUNDS}: {real_rate:.0f} vs {bare_rate:.0f} views/s; gunicorn {WORKERS} workers, {CLIENTS} clients, "
            f"SQLite; aim >= 0.5x)"
        )
        mail_rate = statistics.median(mail_rates)
        print(
            f"{'the same with an e-mail address':<34} {mail_rate / bare_rate:6.3f}x   (throughput: {mail_rate:.0f} "
            f"views/s; the receipt is written to the outbox in the view's transaction, never sent from the request)"
        )
