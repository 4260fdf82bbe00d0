"""Rate limits that hold (one bucket for submitting, shared through Redis, per real client) and
never stand between a resident and the database; request size limits."""

from __future__ import annotations

import itertools
import logging
import socket
import threading
import time
import uuid
from urllib.parse import urlparse

import pytest
import redis
from sqlalchemy import func, select

from feedback_app.extensions import db
from feedback_app.intake import services as intake
from feedback_app.kernel.models import Role, Submission

from . import factories
from .conftest import REDIS_TEST_URL, Browser, RequestIsolatedClient, csrf_token, form_token, make_app

DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1
# The real Redis, on a database of its own; each test uses its own key prefix and removes it.
_REDIS = urlparse(REDIS_TEST_URL)
REDIS_HOST, REDIS_PORT, REDIS_DB = _REDIS.hostname, _REDIS.port or 6379, int(_REDIS.path.lstrip("/") or 0)


def _count() -> int:
    return db.session.execute(select(func.count()).select_from(Submission)).scalar_one()


def _limited_app(app, **overrides):
    # Redis gets time to answer on a loaded test machine; a closed port still fails at once.
    overrides.setdefault("RATELIMIT_STORAGE_TIMEOUT", 2.0)
    limited = make_app(app.config["SQLALCHEMY_DATABASE_URI"], RATELIMIT_ENABLED=True, **overrides)
    limited.test_client_class = RequestIsolatedClient
    return limited


_views_sent = itertools.count(1)


def _send_view(client, url=None, body=None, *, headers=None, **fields):
    """Open the form and send a new view as a browser would, from the client address in `headers`.

    Each call's text differs (the same text again from one browser is a resend, not a view)."""
    body = body or f"{factories.TRANSPORT_VIEW} (view {next(_views_sent)})"
    if url is None:
        initiative = factories.initiative()
        url, fields = f"/initiatives/{initiative.code}/views/new", {"initiative": initiative.code, **fields}
    page = client.get(url, headers=headers)
    assert page.status_code == 200, page.status_code
    html = page.get_data(as_text=True)
    data = {"csrf_token": csrf_token(html), "body": body, **fields}
    if form_token(html) is not None:
        data["form_token"] = form_token(html)
    return client.post(url, data=data, headers=headers)


def _stored(response) -> bool:
    return response.status_code == 302 and "/track/" in response.headers["Location"]


@pytest.fixture
def key_prefix(redis_url):
    prefix = f"scf-test-{uuid.uuid4().hex}"
    yield prefix
    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB)
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)


# --- Item 1: a limit store that is down never loses a view ---------------------------------


def test_a_view_is_stored_when_the_limit_store_is_down(app, caplog):
    limited = _limited_app(app, RATELIMIT_STORAGE_URI=DEAD_REDIS)
    client = limited.test_client()
    with caplog.at_level(logging.WARNING, logger=limited.logger.name):
        first = _send_view(client)
        second = _send_view(client)
    assert _stored(first) and _stored(second)
    assert _count() == 2
    tracking = client.get(first.headers["Location"])
    assert tracking.status_code == 200
    assert "Thank you. Your view has been received." in tracking.get_data(as_text=True)
    # Loud, and once per outage rather than once per request.
    outage = [r for r in caplog.records if r.levelno == logging.ERROR and "unreachable" in r.getMessage()]
    assert len(outage) == 1 and "127.0.0.1:1" in outage[0].getMessage()


def test_sign_in_works_when_the_limit_store_is_down(app):
    resident = factories.user(Role.RESIDENT)
    limited = _limited_app(app, RATELIMIT_STORAGE_URI=DEAD_REDIS)
    response = Browser(limited.test_client()).login(resident.email)
    assert response.status_code == 200
    assert "Sign out" in response.get_data(as_text=True)


def test_the_limit_still_applies_in_memory_when_the_store_is_down(app):
    limited = _limited_app(app, RATELIMIT_STORAGE_URI=DEAD_REDIS, SUBMISSION_RATE_LIMIT="2 per minute")
    client = limited.test_client()
    assert all(_stored(_send_view(client)) for _ in range(2))
    refused = _send_view(client, body="A third view, sent too soon after the others.")
    assert refused.status_code == 429
    assert "A third view, sent too soon after the others." in refused.get_data(as_text=True)
    assert _count() == 2


class RedisGate:
    """A TCP relay in front of the real Redis that can be shut and opened again on one port."""

    def __init__(self, host: str, port: int):
        self.target = (host, port)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._open = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def open(self):
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._listener.settimeout(0.05)
        self._open = True
        threading.Thread(target=self._accept, daemon=True).start()

    def shut(self):
        self._open = False
        with self._lock:
            for sock in [self._listener, *self._sockets]:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()
            self._sockets.clear()

    def _accept(self):
        listener = self._listener
        while self._open:
            try:
                client, _ = listener.accept()
            except (TimeoutError, OSError):
                continue
            upstream = socket.create_connection(self.target)
            with self._lock:
                self._sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass


def test_limits_are_shared_again_when_the_store_comes_back(app, redis_url, key_prefix, caplog):
    gate = RedisGate(REDIS_HOST, REDIS_PORT)
    gate.open()
    try:
        limited = _limited_app(
            app,
            RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{gate.port}/{REDIS_DB}",
            RATELIMIT_STORAGE_OPTIONS={"key_prefix": key_prefix},
            SUBMISSION_RATE_LIMIT="3 per minute",
        )
        client = limited.test_client()
        caplog.set_level(logging.WARNING, logger=limited.logger.name)
        assert _stored(_send_view(client))  # counted in Redis: 1 of 3

        gate.shut()
        assert _stored(_send_view(client)) and _stored(_send_view(client))  # counted in memory: 2 of 3

        gate.open()
        deadline = time.monotonic() + 40  # the store is retried after 1, 2, 4, 8... seconds
        while not any("limits are shared again" in r.getMessage() for r in caplog.records):
            assert time.monotonic() < deadline, "the limiter never went back to the store"
            time.sleep(0.25)
            client.get("/areas/mobility/views/new")
        # Back on Redis (1 of 3 used): two more go through, where memory (2 of 3) allowed one.
        assert _stored(_send_view(client)) and _stored(_send_view(client))
        assert _send_view(client).status_code == 429
        assert _count() == 5
    finally:
        gate.shut()


def test_the_error_page_never_mentions_a_tracking_link(app, monkeypatch):
    broken = make_app(app.config["SQLALCHEMY_DATABASE_URI"], PROPAGATE_EXCEPTIONS=False)
    broken.test_client_class = RequestIsolatedClient

    def fail(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(intake, "submit", fail)
    response = _send_view(broken.test_client())
    html = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Something went wrong on our side" in html
    assert "tracking" not in html.lower()
    assert _count() == 0


# --- Item 5: limits as strong as configured -------------------------------------------------


def test_both_submit_forms_count_in_one_bucket(app):
    limited = _limited_app(app, SUBMISSION_RATE_LIMIT="2 per minute")
    client = limited.test_client()
    initiative = factories.initiative()
    on_initiative = f"/initiatives/{initiative.code}/views/new"
    general = "/areas/environment/views/new"
    assert _stored(_send_view(client, on_initiative, initiative=initiative.code))
    assert _stored(_send_view(client, general, "Please put more recycling bins in housing estates.", initiative=""))
    assert _send_view(client, general, "A third view through the other form.", initiative="").status_code == 429
    assert _send_view(client, on_initiative, initiative=initiative.code).status_code == 429
    assert _count() == 2


def test_a_form_with_errors_does_not_count(app):
    limited = _limited_app(app, SUBMISSION_RATE_LIMIT="2 per minute")
    client = limited.test_client()
    for _ in range(5):
        assert _send_view(client, body="too short").status_code == 400
    assert _stored(_send_view(client)) and _stored(_send_view(client))
    assert _send_view(client).status_code == 429
    assert _count() == 2


def test_without_redis_each_process_counts_alone(app):
    # What the README says: without Redis, each worker process has its own counts. Two app
    # objects stand for two processes.
    first, second = (_limited_app(app, SUBMISSION_RATE_LIMIT="1 per minute") for _ in range(2))
    one, two = first.test_client(), second.test_client()
    assert _stored(_send_view(one))
    assert _stored(_send_view(two))
    assert _send_view(one).status_code == 429
    assert _send_view(two).status_code == 429


def test_with_redis_the_limit_is_shared_by_every_process(app, redis_url, key_prefix):
    settings = dict(
        RATELIMIT_STORAGE_URI=redis_url,
        RATELIMIT_STORAGE_OPTIONS={"key_prefix": key_prefix},
        SUBMISSION_RATE_LIMIT="2 per minute",
    )
    first, second = (_limited_app(app, **settings) for _ in range(2))
    one, two = first.test_client(), second.test_client()
    assert _stored(_send_view(one))
    assert _stored(_send_view(two))
    assert _send_view(one).status_code == 429
    assert _send_view(two).status_code == 429
    assert _count() == 2
    counted_in = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB).keys(f"{key_prefix}*")
    assert counted_in, "the counts are not in Redis"


def test_behind_a_trusted_proxy_each_client_counts_separately(app):
    limited = _limited_app(app, TRUSTED_PROXIES=1, SUBMISSION_RATE_LIMIT="1 per minute")
    client = limited.test_client()
    alice, bob = {"X-Forwarded-For": "203.0.113.10"}, {"X-Forwarded-For": "203.0.113.20"}
    assert _stored(_send_view(client, headers=alice))
    assert _send_view(client, headers=alice).status_code == 429
    assert _stored(_send_view(client, headers=bob))
    # A client cannot pick its address by sending its own header: only the last proxy's counts.
    spoofed = {"X-Forwarded-For": "198.51.100.7, 203.0.113.10"}
    assert _send_view(client, headers=spoofed).status_code == 429
    assert _count() == 2


def test_without_trusted_proxies_forwarded_addresses_are_ignored(app):
    limited = _limited_app(app, TRUSTED_PROXIES=0, SUBMISSION_RATE_LIMIT="1 per minute")
    client = limited.test_client()
    assert _stored(_send_view(client, headers={"X-Forwarded-For": "203.0.113.10"}))
    assert _send_view(client, headers={"X-Forwarded-For": "203.0.113.20"}).status_code == 429
    assert _count() == 1


# --- Item 9: size limits ---------------------------------------------------------------------


def test_a_two_megabyte_view_gets_the_413_page_and_nothing_is_stored(client):
    initiative = factories.initiative()
    response = client.post(
        f"/initiatives/{initiative.code}/views/new",
        data={"initiative": initiative.code, "body": "x" * (2 * 1024 * 1024)},
    )
    assert response.status_code == 413
    assert "What you sent is too large" in response.get_data(as_text=True)
    assert _count() == 0


@pytest.mark.parametrize(
    "encoding, fields",
    [
        ("urlencoded", 10_000),
        ("multipart", 10_000),
        ("urlencoded", 300),
        ("multipart", 300),
    ],
)
def test_too_many_form_fields_get_the_413_page_and_nothing_is_stored(client, encoding, fields):
    initiative = factories.initiative()
    page = client.get(f"/initiatives/{initiative.code}/views/new").get_data(as_text=True)
    data = {
        "csrf_token": csrf_token(page),
        "form_token": form_token(page) or "",
        "initiative": initiative.code,
        "body": factories.TRANSPORT_VIEW,
    }
    data.update({f"f{i}": "1" for i in range(fields)})
    response = client.post(
        f"/initiatives/{initiative.code}/views/new",
        data=data,
        content_type="multipart/form-data" if encoding == "multipart" else None,
    )
    assert response.status_code == 413
    assert "What you sent is too large" in response.get_data(as_text=True)
    assert _count() == 0


def test_an_oversized_sign_in_gets_the_413_page(client):
    response = client.post("/account/login", data={"email": "a@example.org", "password": "p" * (2 * 1024 * 1024)})
    assert response.status_code == 413
    assert "What you sent is too large" in response.get_data(as_text=True)


def test_a_normal_form_is_well_within_the_limits(browser):
    longest = "巴士" * 2500  # 5,000 characters, the longest view allowed, about 45 KB encoded
    response = browser.submit_form("/areas/mobility/views/new", {"initiative": "", "body": longest})
    assert response.status_code == 200
    assert _count() == 1


# A chunked body has no Content-Length to refuse up front; servers that end the stream (gunicorn)
# say so with wsgi.input_terminated, and Werkzeug then caps what it reads at MAX_CONTENT_LENGTH.
TERMINATED_BY_THE_SERVER = {"wsgi.input_terminated": True}


def _chunked(client, url, body: bytes, content_type: str):
    import io

    return client.post(
        url,
        input_stream=io.BytesIO(body),
        environ_overrides=TERMINATED_BY_THE_SERVER,
        headers={"Transfer-Encoding": "chunked", "Content-Type": content_type},
    )


def _multipart(fields: dict[str, str], boundary: str = "b0undary") -> tuple[bytes, str]:
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields.items()
    ]
    return ("".join(parts) + f"--{boundary}--\r\n").encode(), f"multipart/form-data; boundary={boundary}"


@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
def test_a_chunked_view_over_the_limit_gets_the_413_page_and_nothing_is_stored(client, encoding):
    """It used to be cut at the limit and parsed: the first megabyte stored as if it were all."""
    initiative = factories.initiative()
    url = f"/initiatives/{initiative.code}/views/new"
    page = client.get(url).get_data(as_text=True)
    limit = client.application.config["MAX_CONTENT_LENGTH"]
    fields = {
        "csrf_token": csrf_token(page),
        "form_token": form_token(page),
        "initiative": initiative.code,
        "body": factories.TRANSPORT_VIEW + " " + "x" * limit,
    }
    if encoding == "urlencoded":
        from urllib.parse import urlencode

        body, content_type = urlencode(fields).encode(), "application/x-www-form-urlencoded"
    else:
        body, content_type = _multipart(fields)
    response = _chunked(client, url, body, content_type)
    assert response.status_code == 413
    assert "What you sent is too large" in response.get_data(as_text=True)
    assert _count() == 0


def test_a_chunked_view_under_the_limit_is_stored_whole(client):
    from urllib.parse import urlencode

    initiative = factories.initiative()
    url = f"/initiatives/{initiative.code}/views/new"
    page = client.get(url).get_data(as_text=True)
    body = urlencode(
        {
            "csrf_token": csrf_token(page),
            "form_token": form_token(page),
            "initiative": initiative.code,
            "body": factories.TRANSPORT_VIEW,
        }
    ).encode()
    assert _stored(_chunked(client, url, body, "application/x-www-form-urlencoded"))
    assert db.session.execute(select(Submission.body)).scalar_one() == factories.TRANSPORT_VIEW


def test_a_chunked_sign_in_over_the_limit_gets_the_413_page(client):
    limit = client.application.config["MAX_CONTENT_LENGTH"]
    response = _chunked(
        client, "/account/login", b"email=a%40example.org&password=" + b"p" * limit, "application/x-www-form-urlencoded"
    )
    assert response.status_code == 413


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _raw_request(port: int, head: str, body: bytes) -> str:
    """The status line gunicorn answers `head` + `body` with."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        conn.sendall(head.encode() + body)
        return conn.makefile("rb").readline().decode().strip()


def test_gunicorn_answers_a_chunked_body_over_the_limit_with_413(app, tmp_path):
    """Through the real server: gunicorn ends chunked bodies itself (wsgi.input_terminated)."""
    import os
    import subprocess  # nosec B404 - starts our own server on the loopback address
    import sys

    limit = 50_000  # small, so the whole request fits in the socket buffers before the answer
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": "gunicorn-test-key",
        "MAX_CONTENT_LENGTH": str(limit),
        "ALLOW_DEMO_ACCOUNTS": "0",
        "RATELIMIT_STORAGE_URI": "memory://",
        "TASK_QUEUE_PATH": str(tmp_path / "tasks.sqlite3"),
    }
    env.pop("REDIS_URL", None)
    server = subprocess.Popen(  # nosec B603 - fixed arguments
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1", "wsgi:app"],
        env=env,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert server.poll() is None, "gunicorn did not start"
                assert time.monotonic() < deadline, "gunicorn did not answer within a minute"
                time.sleep(0.2)
        payload = b"email=a%40example.org&password=" + b"p" * (limit + 10_000)
        chunked = (
            b"".join(
                b"%x\r\n%s\r\n" % (len(piece), piece)
                for piece in (payload[i : i + 8192] for i in range(0, len(payload), 8192))
            )
            + b"0\r\n\r\n"
        )
        head = (
            "POST /account/login HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        assert _raw_request(port, head, chunked).split(" ")[1] == "413"
        small = b"email=a%40example.org&password=p"
        chunked_small = b"%x\r\n%s\r\n0\r\n\r\n" % (len(small), small)
        assert _raw_request(port, head, chunked_small).split(" ")[1] == "400"  # read whole: no security token
    finally:
        server.terminate()
        server.wait(timeout=30)
