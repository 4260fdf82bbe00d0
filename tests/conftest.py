"""Fixtures: an app on a real, migrated database (SQLite and PostgreSQL), clients, users.

Each backend is migrated to head and loaded with reference data and a trained classifier
once per session; each test then starts from that state (a fresh copy of the SQLite file, or
truncated tables on PostgreSQL).
"""
from __future__ import annotations

import os
import re
import shutil

import pytest
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import create_engine, text

import classifier
from config import TestConfig, database_url
from feedback_app import create_app
from feedback_app.catalogue.services import DATA_DIR, load_reference_data
from feedback_app.extensions import db
from feedback_app.models import ClassifierVersion, Role

from . import factories

PG_URL = os.environ.get("TEST_DATABASE_URL")
REQUIRE_PG = os.environ.get("TEST_REQUIRE_POSTGRESQL") == "1"
MIGRATIONS = os.path.join(os.path.dirname(__file__), "..", "migrations")
# Tables emptied between PostgreSQL tests; reference data stays loaded.
PER_TEST_TABLES = "answer, audit_event, submission, user_account, reference_counter, classifier_version"


@pytest.fixture(scope="session")
def model_artifact() -> bytes:
    """One real model for the whole session, trained on the shipped corpus and catalogue."""
    examples = classifier.load_examples(classifier.default_data_paths()) + classifier.catalogue_examples(DATA_DIR)
    return classifier.to_bytes(classifier.train(examples))


def _store_model(artifact: bytes) -> None:
    model = classifier.from_bytes(artifact, sha256=classifier.sha256_hex(artifact))
    db.session.add(
        ClassifierVersion(
            label="test-model", artifact=artifact, sha256=classifier.sha256_hex(artifact),
            training_data_hash=model.metadata["training_data_hash"], meta={}, metrics={}, is_active=True,
        )
    )
    db.session.commit()


def _prepare(url: str, artifact: bytes) -> None:
    app = make_app(url)
    with app.app_context():
        upgrade(directory=MIGRATIONS)
        load_reference_data()
        _store_model(artifact)
        db.engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory, model_artifact) -> str:
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    _prepare(f"sqlite:///{path}", model_artifact)
    return str(path)


@pytest.fixture(scope="session")
def postgresql_url(model_artifact) -> str:
    if not PG_URL:
        if REQUIRE_PG:
            pytest.fail("TEST_REQUIRE_POSTGRESQL=1 but TEST_DATABASE_URL is not set")
        pytest.skip("PostgreSQL part skipped: TEST_DATABASE_URL is not set "
                    "(e.g. TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test)")
    url = database_url(PG_URL)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    _prepare(url, model_artifact)
    return url


def make_app(url: str, **overrides):
    config = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
    config["SQLALCHEMY_DATABASE_URI"] = url
    config.update(overrides)
    return create_app(config)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request) -> str:
    return request.param


@pytest.fixture
def app(request, backend, tmp_path, model_artifact):
    if backend == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "test.db"
        shutil.copy(template, path)
        app = make_app(f"sqlite:///{path}")
    else:
        url = request.getfixturevalue("postgresql_url")
        app = make_app(url)
        with app.app_context():
            db.session.execute(text(f"TRUNCATE {PER_TEST_TABLES} RESTART IDENTITY CASCADE"))
            db.session.commit()
            _store_model(model_artifact)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


class RequestIsolatedClient(FlaskClient):
    """Each request gets its own application context, as it would in production.

    Tests hold an app context open to use the database; without this, requests would share
    it, and with it Flask's `g` (where Flask-Login caches the user) and the test's session.
    """

    def open(self, *args, **kwargs):
        db.session.commit()  # the request must see what the test wrote...
        try:
            with self.application.app_context():
                return super().open(*args, **kwargs)
        finally:
            db.session.rollback()  # ...and the test what the request wrote (no stale snapshot)


@pytest.fixture
def client(app):
    app.test_client_class = RequestIsolatedClient
    return app.test_client()


CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_token(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1) or match.group(2)


class Browser:
    """Drives the test client the way a person uses forms: open the page, fill it in, send it."""

    def __init__(self, client):
        self.client = client

    def submit_form(self, page_url: str, data: dict, *, action: str | None = None, follow_redirects=True):
        page = self.client.get(page_url)
        assert page.status_code == 200, page.status_code
        data = {"csrf_token": csrf_token(page.get_data(as_text=True)), **data}
        return self.client.post(action or page_url, data=data, follow_redirects=follow_redirects)

    def login(self, email: str, password: str = factories.PASSWORD):
        return self.submit_form("/account/login", {"email": email, "password": password})

    def logout(self):
        page = self.client.get("/")
        return self.client.post("/account/logout", data={"csrf_token": csrf_token(page.get_data(as_text=True))},
                                follow_redirects=True)


@pytest.fixture
def browser(client):
    return Browser(client)


@pytest.fixture
def login_as(browser):
    def login(user):
        response = browser.login(user.email)
        assert response.status_code == 200
        return user

    return login


@pytest.fixture
def moderator(app):
    return factories.user(Role.MODERATOR)


@pytest.fixture
def officer(app):
    return factories.user(Role.OFFICER, bureau="TLB")


@pytest.fixture
def other_officer(app):
    return factories.user(Role.OFFICER, bureau="HB")


@pytest.fixture
def resident(app):
    return factories.user(Role.RESIDENT)
