"""Fixtures: an app on a real, migrated database (SQLite and PostgreSQL), clients, users.

Each backend is migrated to head and loaded with reference data and a trained classifier
once per session; each test then starts from that state (a fresh copy of the SQLite file, or
truncated tables on PostgreSQL). The classifier is trained once and kept on disk by its training
data's hash (classifier/cache.py), so later sessions and pytest-xdist workers load it instead.

Markers (declared in pyproject.toml): `postgresql` is put on every test's PostgreSQL case here,
`browser` on tests/browser, `fuzz` and `slow` where a test says so; `markup` on a test (or module)
whose assertions are about the HTML or headers alone, which then runs on SQLite only.
Under pytest-xdist each worker gets its own PostgreSQL database (`<name>_gw0`, `<name>_gw1`, made
if missing), so workers never truncate each other's tables.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from pathlib import Path

import pyotp
import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask.testing import FlaskClient, FlaskCliRunner
from flask_migrate import upgrade
from hypothesis import settings
from psycopg import sql
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from xdist.scheduler import LoadScopeScheduling

import classifier
from classifier import cache as model_cache
from config import TestConfig, database_url
from feedback_app import create_app
from feedback_app.auth import services as accounts
from feedback_app.extensions import db
from feedback_app.kernel.catalogue import DATA_DIR, load_reference_data
from feedback_app.kernel.models import ClassifierVersion, Role

from . import factories

PG_URL = os.environ.get("TEST_DATABASE_URL")
REQUIRE_PG = os.environ.get("TEST_REQUIRE_POSTGRESQL") == "1"
# Redis for the tests of limits shared across processes; CI (TEST_REQUIRE_REDIS=1) never skips them.
REDIS_TEST_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/4")
REQUIRE_REDIS = os.environ.get("TEST_REQUIRE_REDIS") == "1"
MIGRATIONS = os.path.join(os.path.dirname(__file__), "..", "migrations")
# Tables emptied between PostgreSQL tests; reference data stays loaded.
PER_TEST_TABLES = (
    "answer, audit_event, submission, user_account, reference_counter, classifier_version, enrolment_link, "
    "official_contact, mail_suppression, stats_month, stats_distribution, stats_dirty_month"
)


ROOT = Path(__file__).resolve().parents[1]
TRANSLATIONS = ROOT / "feedback_app" / "translations"
# Hypothesis examples: the count each test is written with in CI (`.ci/run`, and plain `pytest`),
# a quarter of it in the quick loop (`make test-quick`). Chosen with HYPOTHESIS_PROFILE or
# `--hypothesis-profile`; tests scale their own counts with `hypothesis_examples(n)`.
settings.register_profile("ci", max_examples=100)
settings.register_profile("quick", max_examples=25)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def hypothesis_examples(full: int) -> int:
    """A test's hypothesis example count: `full` in CI, scaled down in the quick profile."""
    return max(1, full * settings.default.max_examples // 100)


def pytest_configure(config):
    if not os.environ.get("PYTEST_XDIST_WORKER"):  # the workers start after this has run
        _compile_catalogues()


def _compile_catalogues() -> None:
    """Compile each .mo that is missing or older than its .po, as `make` does (pybabel compile
    --use-fuzzy): pytest run directly would otherwise fail every translated page's test."""
    for po in sorted(TRANSLATIONS.glob("*/LC_MESSAGES/messages.po")):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        try:
            with open(po, "rb") as source:
                catalog = read_po(source, locale=po.parent.parent.name)
            handle, temporary = tempfile.mkstemp(dir=mo.parent, suffix=".tmp")
            with os.fdopen(handle, "wb") as out:
                write_mo(out, catalog, use_fuzzy=True)
            os.replace(temporary, mo)
        except Exception as exc:  # noqa: BLE001 - any failure gets the same advice
            pytest.exit(
                f"{mo.relative_to(ROOT)} is missing or older than its .po and could not be compiled "
                f"({exc}): run `make test`, or `pybabel compile --use-fuzzy -d feedback_app/translations`",
                returncode=4,
            )


SESSION_STARTED = time.time()
BROWSER_SUMMARY = ROOT / "build" / "screenshots" / "summary.json"


def pytest_terminal_summary(terminalreporter, config):
    """Under pytest-xdist: the browser suite's figures, from the summary its worker wrote (without
    xdist, tests/browser/conftest.py prints them itself)."""
    if not getattr(config.option, "numprocesses", None):
        return
    if BROWSER_SUMMARY.exists() and BROWSER_SUMMARY.stat().st_mtime > SESSION_STARTED:
        figures = json.loads(BROWSER_SUMMARY.read_text())
        terminalreporter.write_line(
            f"browser suite: {figures['pages']} pages checked, {figures['axe_runs']} axe runs, "
            f"{figures['screenshots']} screenshots in build/screenshots/, {figures['seconds']:.1f} s"
        )


def pytest_collection_modifyitems(config, items):
    for item in items:
        params = item.callspec.params if hasattr(item, "callspec") else {}
        if "postgresql" in (params.get("backend"), params.get("live_server")):
            item.add_marker(pytest.mark.postgresql)
        if Path(str(item.path)).is_relative_to(ROOT / "tests" / "browser"):
            item.add_marker(pytest.mark.browser)


# Tests that must share one xdist worker (`--dist loadgroup`, as `make test` runs): the browser suite
# (one Chromium, one served app per backend, started once) and the task-queue tests (the queue's
# name is fixed: two workers' queues in one Redis would mix). pytest-xdist's own `xdist_group` mark
# does not group under pytest 9 (it renames the item's node id through an attribute pytest 9 no
# longer reads), so the scheduler is chosen here, through xdist's public hook.
WORKER_GROUPS = {"tests/browser/": "browser", "tests/test_worker.py::": "task-queue"}


class GroupScheduling(LoadScopeScheduling):
    """Each test on its own, as `--dist load`, except the groups above, each kept on one worker."""

    def _split_scope(self, nodeid: str) -> str:
        return next((group for prefix, group in WORKER_GROUPS.items() if nodeid.startswith(prefix)), nodeid)


def pytest_xdist_make_scheduler(config, log):
    if config.getoption("dist") == "loadgroup":
        return GroupScheduling(config, log)
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_generate_tests(metafunc):
    # A markup-only test: the same HTML comes from either database, so SQLite alone. Added as a
    # parametrize mark, before pytest reads the marks, so it takes the place of `backend`'s params.
    if "backend" in metafunc.fixturenames and metafunc.definition.get_closest_marker("markup"):
        metafunc.definition.add_marker(pytest.mark.parametrize("backend", ["sqlite"]))


@pytest.fixture(scope="session")
def model_artifact() -> bytes:
    """One real model, trained on the shipped corpus, catalogue and off-topic texts; trained by
    the first session (or xdist worker) that needs it and read from .cache/models/ after that."""
    examples = classifier.load_examples(classifier.default_data_paths()) + classifier.catalogue_examples(DATA_DIR)
    offtopic = classifier.load_offtopic(classifier.default_offtopic_paths())
    artifact, _from_cache = model_cache.cached_artifact(
        examples,
        offtopic,
        lambda: classifier.to_bytes(classifier.train(examples, offtopic=offtopic)),
        settings={"for": "tests", "train": "defaults"},
    )
    return artifact


def _store_model(artifact: bytes) -> None:
    model = classifier.from_bytes(artifact, sha256=classifier.sha256_hex(artifact))
    db.session.add(
        ClassifierVersion(
            label="test-model",
            artifact=artifact,
            sha256=classifier.sha256_hex(artifact),
            training_data_hash=model.metadata["training_data_hash"],
            meta={},
            metrics={},
            is_active=True,
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
        pytest.skip(
            "PostgreSQL part skipped: TEST_DATABASE_URL is not set "
            "(e.g. TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test)"
        )
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    url = own_postgresql_database(worker) if worker else database_url(PG_URL)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    _prepare(url, model_artifact)
    return url


def own_postgresql_database(suffix: str) -> str:
    """TEST_DATABASE_URL's server, database `<its name>_<suffix>` (made if missing; not emptied)."""
    url = make_url(database_url(PG_URL))
    name = f"{url.database}_{suffix}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    for attempt in range(5):
        try:
            with admin.connect() as conn:
                if conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first() is None:
                    # A database name cannot be a bound parameter; psycopg quotes it as an identifier.
                    conn.connection.driver_connection.execute(
                        sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
                    )
            break
        except DBAPIError:
            # Two workers creating their databases at once: PostgreSQL may refuse one while the
            # other copies the template ("being accessed by other users"); try again.
            if attempt == 4:
                raise
            time.sleep(1 + attempt)
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


@pytest.fixture
def redis_url() -> str:
    """A reachable Redis for the test (its own key prefixes keep tests apart)."""
    import redis

    try:
        redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=0.5).ping()
    except redis.RedisError as exc:
        if REQUIRE_REDIS:
            pytest.fail(f"TEST_REQUIRE_REDIS=1 but Redis at {REDIS_TEST_URL} does not answer: {exc}")
        pytest.skip(f"Redis part skipped: no Redis at {REDIS_TEST_URL} (set TEST_REDIS_URL)")
    return REDIS_TEST_URL


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
            # Reference data a test may change (admin bureau settings): back to as loaded.
            db.session.execute(text("UPDATE bureau SET answer_target_days = 10 WHERE answer_target_days <> 10"))
            db.session.execute(text("UPDATE public_state SET stats_refreshed_at = NULL"))
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


class IsolatedCliRunner(FlaskCliRunner):
    """Each `flask ...` command gets its own application context (and database session), as a
    command run from a shell would; the test sees what it committed."""

    def invoke(self, *args, **kwargs):
        db.session.commit()
        try:
            with self.app.app_context():
                return super().invoke(*args, **kwargs)
        finally:
            db.session.rollback()


@pytest.fixture
def runner(app):
    app.test_cli_runner_class = IsolatedCliRunner
    return app.test_cli_runner()


CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


TWO_FACTOR_CODE_PATH = "/account/login/code"
TWO_FACTOR_SETUP_PATH = "/account/two-factor/setup"
TOTP_SECRET_RE = re.compile(r'id="two-factor-secret"[^>]*>([A-Z2-7 ]+)<')
CONTINUE_RE = re.compile(r'id="two-factor-continue" href="([^"]+)"')


def totp_code(secret: str, *, after_step: int | None = None) -> str:
    """The code an authenticator app shows now; a later one if this one was already used.

    The server accepts one step either side of now but never the same step twice, so a
    second sign-in within 30 seconds uses the next step (waiting for it if need be).
    """
    totp = pyotp.TOTP(secret)
    while True:
        now = int(time.time()) // totp.interval
        for step in (now, now + 1):
            if after_step is None or step > after_step:
                return totp.generate_otp(step)
        time.sleep(totp.interval - time.time() % totp.interval + 0.05)


def csrf_token(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1) or match.group(2)


# The submission form's one-time token (see intake.services.submit): a browser sends it back.
FORM_TOKEN_RE = re.compile(r'name="form_token" type="hidden" value="([^"]*)"')


def form_token(html: str) -> str | None:
    match = FORM_TOKEN_RE.search(html)
    return match.group(1) if match else None


SHOWN_AT_RE = re.compile(r'name="shown_at" type="hidden" value="([^"]*)"')


def shown_at(html: str) -> str | None:
    match = SHOWN_AT_RE.search(html)
    return match.group(1) if match else None


class Browser:
    """Drives the test client the way a person uses forms: open the page, fill it in, send it."""

    def __init__(self, client):
        self.client = client

    def submit_form(self, page_url: str, data: dict, *, action: str | None = None, follow_redirects=True):
        page = self.client.get(page_url)
        assert page.status_code == 200, page.status_code
        html = page.get_data(as_text=True)
        hidden = {
            name: value
            for name, value in (("form_token", form_token(html)), ("shown_at", shown_at(html)))
            if value is not None
        }
        data = {"csrf_token": csrf_token(html), **hidden, **data}
        return self.client.post(action or page_url, data=data, follow_redirects=follow_redirects)

    def login(self, email: str, password: str = factories.PASSWORD):
        """Sign in as a person would, answering the second step with an authenticator code.

        Staff must use two-factor sign-in. One who has not enrolled yet is refused and told to use
        an enrolment link, so this has one issued (as an administrator would) and enrols through
        it (secret read from the page), which signs them in; one who has is asked for a code.
        """
        response = self.submit_form("/account/login", {"email": email, "password": password})
        path = response.request.path
        if path == TWO_FACTOR_CODE_PATH:
            user = accounts.find_by_email(email)
            code = totp_code(user.totp_secret, after_step=user.totp_last_step)
            response = self.submit_form(path, {"code": code})
        elif response.status_code == 403 and path == "/account/login":
            response = self.enrol_with_link(email, password)
        return response

    def enrol_with_link(self, email: str, password: str = factories.PASSWORD):
        """Open a new enrolment link of the account, type the password, enrol the authenticator."""
        link = accounts.issue_enrolment_link(accounts.find_by_email(email).id)
        url = f"/account/enrol/{link.token}"
        response = self.submit_form(url, {"password": password})
        assert response.request.path == url + "/authenticator", response.request.path
        return self.enrol_two_factor(response.request.path)

    def enrol_two_factor(self, setup_url: str = TWO_FACTOR_SETUP_PATH):
        """Scan the QR code (read the secret shown beside it), confirm with a code, continue."""
        page = self.client.get(setup_url)
        assert page.status_code == 200, page.status_code
        html = page.get_data(as_text=True)
        secret = TOTP_SECRET_RE.search(html)
        assert secret, "no two-factor secret on the enrolment page"
        response = self.client.post(
            setup_url,
            data={
                "csrf_token": csrf_token(html),
                "code": totp_code(secret.group(1).replace(" ", "")),
            },
        )
        assert response.status_code == 200, response.status_code
        continue_link = CONTINUE_RE.search(response.get_data(as_text=True))
        assert continue_link, "no way on from the recovery codes page"
        return self.client.get(continue_link.group(1).replace("&amp;", "&"), follow_redirects=True)

    def logout(self):
        page = self.client.get("/")
        return self.client.post(
            "/account/logout", data={"csrf_token": csrf_token(page.get_data(as_text=True))}, follow_redirects=True
        )


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


@pytest.fixture
def mail_server(app):
    """A real SMTP server (aiosmtpd, tests/mail_server.py) the app sends to."""
    from .mail_server import MailServer

    server = MailServer()
    server.start()
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=server.port, SMTP_TIMEOUT=5)
    yield server
    server.stop()
