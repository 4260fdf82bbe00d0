"""A database that cannot be reached: a translated 503 with Retry-After, then service again.

PostgreSQL is reached through a small TCP proxy in the test, which is stopped (the port then
refuses connections, as a stopped server's does) and started again on the same port. SQLite's
file is moved away, and every open connection closed, as when a disk is unmounted.
"""

from __future__ import annotations

import shutil
import socket
import threading
from urllib.parse import urlsplit

import pytest
from sqlalchemy import create_engine, func, select, text

from feedback_app.extensions import db
from feedback_app.kernel.models import Submission

from . import factories
from .conftest import csrf_token, form_token, make_app

VIEW = "The bus stop at Lung Cheung Road has no shelter and we get soaked every rainy morning."


class TcpProxy:
    """Forwards a local port to PostgreSQL; stop() closes the port and every open connection."""

    def __init__(self, upstream: tuple[str, int]):
        self.upstream = upstream
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self._listener = None
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen()
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in [self._listener, *sockets]:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # stopped
            server = socket.create_connection(self.upstream)
            with self._lock:
                self._sockets += [client, server]
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(source, target), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


@pytest.fixture
def outage(request, tmp_path):
    """(app, take_down, bring_back) for the backend under test."""
    if request.param == "sqlite":
        folder = tmp_path / "data"
        folder.mkdir()
        shutil.copy(request.getfixturevalue("sqlite_template"), folder / "app.db")
        app = make_app(f"sqlite:///{folder / 'app.db'}")

        def take_down():
            folder.rename(tmp_path / "unmounted")
            with app.app_context():
                db.engine.dispose()  # open file handles would still reach the moved file

        def bring_back():
            (tmp_path / "unmounted").rename(folder)

        yield app, take_down, bring_back
        return

    url = urlsplit(request.getfixturevalue("postgresql_url"))
    engine = create_engine(url.geturl())
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE submission, audit_event, answer RESTART IDENTITY CASCADE"))
    engine.dispose()
    proxy = TcpProxy((url.hostname, url.port or 5432))
    proxy.start()
    app = make_app(url._replace(netloc=f"{url.username}@127.0.0.1:{proxy.port}").geturl())
    try:
        yield app, proxy.stop, proxy.start
    finally:
        with app.app_context():
            db.engine.dispose()
        proxy.stop()


both_backends = pytest.mark.parametrize("outage", ["sqlite", "postgresql"], indirect=True)


def _stored_views(app) -> int:
    with app.app_context():
        try:
            return db.session.execute(select(func.count()).select_from(Submission)).scalar_one()
        finally:
            db.session.remove()


@both_backends
def test_pages_answer_503_while_the_database_is_down_and_recover_without_a_restart(outage):
    app, take_down, bring_back = outage
    client = app.test_client()
    assert client.get("/initiatives").status_code == 200  # connections in the pool

    take_down()
    for url in ("/initiatives", "/", "/bureaus", "/areas/mobility"):
        response = client.get(url)
        html = response.get_data(as_text=True)
        assert response.status_code == 503, url
        assert response.headers["Retry-After"] == "30"
        assert "This service is briefly unavailable" in html
        assert "<h1>" in html and 'lang="en"' in html

    bring_back()
    assert client.get("/initiatives").status_code == 200  # the same app, no restart


@both_backends
def test_the_503_page_is_translated(outage):
    app, take_down, _bring_back = outage
    client = app.test_client()
    take_down()
    client.set_cookie("lang", "zh_Hant")
    response = client.get("/initiatives")
    assert response.status_code == 503
    assert 'lang="zh-Hant-HK"' in response.get_data(as_text=True)


@both_backends
def test_a_view_sent_while_the_database_is_down_is_not_received_and_the_text_is_given_back(outage):
    app, take_down, bring_back = outage
    client = app.test_client()
    with app.app_context():
        code = factories.initiative().code
        db.session.remove()
    form_url = f"/initiatives/{code}/views/new"
    page = client.get(form_url).get_data(as_text=True)
    data = {"csrf_token": csrf_token(page), "initiative": code, "body": VIEW}
    if form_token(page) is not None:
        data["form_token"] = form_token(page)

    take_down()
    response = client.post(form_url, data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    assert "Your view was not received" in html
    assert VIEW in html  # to copy and send again
    assert "/track/" not in html  # no tracking link it was never given

    bring_back()
    assert _stored_views(app) == 0
    # Sent again, the same form is received.
    again = client.post(form_url, data=data)
    assert again.status_code == 302 and "/track/" in again.headers["Location"]
    assert _stored_views(app) == 1


@both_backends
def test_a_signed_in_person_gets_the_503_page_too(outage):
    app, take_down, _bring_back = outage
    with app.app_context():
        from feedback_app.kernel.models import Role

        email = factories.user(Role.RESIDENT).email
        db.session.remove()
    client = app.test_client()
    from .conftest import Browser

    Browser(client).login(email)
    take_down()
    # The second loads the signed-in user first; the third is a 404 page, whose layout does.
    for url in ("/initiatives", "/moderation/queue", "/no-such-page"):
        response = client.get(url)
        assert response.status_code == 503, url
        assert response.headers["Cache-Control"] == "no-store"


def test_a_database_error_that_is_not_an_outage_stays_a_500(app, client, monkeypatch):
    from sqlalchemy.exc import IntegrityError

    from feedback_app.kernel import catalogue as services

    def broken(*_args, **_kwargs):
        raise IntegrityError("INSERT ...", {}, Exception("duplicate key"))

    monkeypatch.setattr(services, "list_bureaus", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = client.get("/bureaus")
    assert response.status_code == 500
    assert "Retry-After" not in response.headers


def test_a_postgresql_host_that_is_off_is_given_up_on_after_a_timeout():
    from config import database_url

    # Without it a connection to a machine that is off waits minutes for TCP, and the worker is
    # killed before it can answer the 503.
    assert database_url("postgresql://app@db.internal/scf").endswith("?connect_timeout=5")
    assert database_url("postgresql://app@db/scf?sslmode=require").endswith("&connect_timeout=5")
    assert database_url("postgresql://app@db/scf?connect_timeout=2").count("connect_timeout") == 1
    assert database_url("sqlite:///instance/feedback.db") == "sqlite:///instance/feedback.db"
