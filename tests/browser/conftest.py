"""The browser suite: real Chromium (Playwright) against the app served as a deployment serves it.

The app runs under gunicorn (several worker processes, a SECRET_KEY from the environment, so in
production mode) on a free local port, on a database prepared the way a deployment prepares one
(`flask db upgrade`, `flask catalogue load`) plus the suite's trained classifier. It is served once
per backend: SQLite always, PostgreSQL when TEST_DATABASE_URL is set, in a database of its own
(`<name>_browser`) because the other tests wipe TEST_DATABASE_URL's database while this server runs.
The worker beside it sends its mail over SMTP to a real server in this process (aiosmtpd,
tests/mail_server.py, one per served backend), and the journeys read it there (the `mailbox`
fixture): the links in it lead to the served app (PUBLIC_BASE_URL).

Every page a journey visits is checked with axe-core (WCAG 2.0/2.1/2.2 A and AA rules, zero
violations of any impact) and must fit its screen, a 390 px phone included (nothing scrolls the
page sideways). With BROWSER_SCREENSHOTS=1 each page is also kept as a full-page screenshot under
build/screenshots/<backend>/<journey>/; off by default, CI included: writing some 600 full-page
PNGs took a large share of the suite's time and nothing reads them there. Set it to look at the
pages, e.g. `BROWSER_SCREENSHOTS=1 .venv/bin/pytest tests/browser -m "not postgresql"`.

Never `playwright install`: it downloads a browser build, which these machines cannot. Debian's
Chromium is used (CHROMIUM_PATH, default /usr/bin/chromium); without it the folder is skipped,
saying why, unless TEST_REQUIRE_BROWSER=1 (CI), where that is a failure.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess  # nosec B404 - the suite starts its own server processes
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from config import database_url
from feedback_app.auth import enrolment
from feedback_app.auth import services as accounts
from feedback_app.extensions import db

from ..conftest import PG_URL, REQUIRE_PG, _store_model, make_app, own_postgresql_database, totp_code
from ..mail_server import MailServer

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "build" / "screenshots"
AXE_SOURCE_PATH = Path(__file__).parent / "vendor" / "axe.min.js"
CHROMIUM_PATH = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
REQUIRE_BROWSER = os.environ.get("TEST_REQUIRE_BROWSER") == "1"
# Opt-in (see the module's docstring): full-page screenshots of every page cost time and disk.
TAKE_SCREENSHOTS = os.environ.get("BROWSER_SCREENSHOTS") == "1"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
# Accept-Language as a browser set to each language sends it; the app picks its language from it.
LOCALES = {"en": "en-GB", "zh_Hant": "zh-HK", "zh_Hans": "zh-CN"}
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
SERVER_SECRET_KEY = "browser-suite-secret-key"  # nosec B105 - the test server's key only
SERVER_START_SECONDS = 60
# Few views per page, so a journey pages through a handful of them.
SERVER_PAGE_SIZE = 3


def _unavailable(reason: str):
    if REQUIRE_BROWSER:
        pytest.fail(f"TEST_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(f"Browser suite skipped: {reason}")


@dataclass
class Stats:
    """What the suite looked at, printed at the end of the run."""

    pages: int = 0
    screenshots: int = 0
    axe_runs: int = 0
    started: float = field(default_factory=time.monotonic)
    # The last page's time: the servers live until the whole run ends, so the run's end would
    # count the other tests too.
    finished: float = field(default_factory=time.monotonic)

    @property
    def seconds(self) -> float:
        return self.finished - self.started


STATS = Stats()


def pytest_terminal_summary(terminalreporter):
    # Under pytest-xdist a worker runs the journeys and tests/conftest.py reads its summary.json.
    if STATS.pages:
        kept = (
            f"{STATS.screenshots} screenshots in {SCREENSHOTS.relative_to(ROOT)}/"
            if TAKE_SCREENSHOTS
            else "no screenshots (BROWSER_SCREENSHOTS=1 keeps them)"
        )
        terminalreporter.write_line(
            f"browser suite: {STATS.pages} pages checked, {STATS.axe_runs} axe runs, {kept}, {STATS.seconds:.1f} s"
        )


# --- the browser -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium():
    """One Chromium for the whole run; each test opens its own context (cookies, viewport)."""
    if not (os.path.isfile(CHROMIUM_PATH) and os.access(CHROMIUM_PATH, os.X_OK)):
        _unavailable(f"no Chromium at {CHROMIUM_PATH} (apt-get install chromium, or set CHROMIUM_PATH)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (make installs it from requirements-dev.txt)")
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)  # only this run's pages, none left from an older one
    STATS.started = time.monotonic()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM_PATH, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


# --- the server ------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _server_environment(url: str, folder: Path, *, smtp_port: int) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("FLASK_", "RATELIMIT_", "REDIS_", "TASK", "TEST_", "SMTP_", "MAIL_", "PUBLIC_BASE_URL"))
    }
    env.update(
        DATABASE_URL=url,
        TASK_QUEUE_PATH=str(folder / "tasks.sqlite3"),
        SECRET_KEY=SERVER_SECRET_KEY,
        ALLOW_DEMO_ACCOUNTS="0",
        PAGE_SIZE=str(SERVER_PAGE_SIZE),
        # Every journey sends views from the same address, faster than any resident would.
        SUBMISSION_RATE_LIMIT="1000 per minute",
        SIMILAR_VIEWS_RATE_LIMIT="1000 per minute",
        SUPPORT_RATE_LIMIT="1000 per minute",
        LINK_RECOVERY_RATE_LIMIT="1000 per minute",
        SIGNUP_RATE_LIMIT="1000 per minute",
        # The worker beside the server sends its mail to the suite's SMTP server (live_server.mail);
        # PUBLIC_BASE_URL, set once the port is known, makes the links in it lead to this server.
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(smtp_port),
        SMTP_TIMEOUT="5",
        # People in the journeys type and read; a second is enough to show the check is on.
        SUBMISSION_MIN_FILL_SECONDS="1",
        FLASK_APP="wsgi:app",
        PYTHONPATH=str(ROOT),
    )
    return env


def _flask(env: dict[str, str], *args: str) -> None:
    result = subprocess.run(  # nosec B603 - fixed arguments, the virtualenv's own flask
        [sys.executable, "-m", "flask", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"flask {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"


def _own_postgresql_database() -> str:
    """TEST_DATABASE_URL's server, database `<name>_browser` (`<name>_browser_gw0` under an xdist
    worker; made if missing), emptied."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    own = own_postgresql_database(f"browser_{worker}" if worker else "browser")
    engine = create_engine(database_url(own))
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return own


@dataclass
class LiveServer:
    url: str  # http://127.0.0.1:<port>
    database_url: str
    backend: str
    mail: MailServer  # what the worker beside the server sent (aiosmtpd, in this process)

    def app(self):
        """An app on the served database, for setting up data through the services. Its tasks run
        at once, in this process: the mail a set-up step causes (a bureau's answer) goes from here
        to the same SMTP server, with the same links, as the worker's would."""
        return make_app(
            database_url(self.database_url),
            SECRET_KEY=SERVER_SECRET_KEY,
            PAGE_SIZE=SERVER_PAGE_SIZE,
            SMTP_HOST="127.0.0.1",
            SMTP_PORT=self.mail.port,
            SMTP_TIMEOUT=5,
            PUBLIC_BASE_URL=self.url,
        )


def _wait_until_serving(process: subprocess.Popen, url: str, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url + "/", timeout=2) as response:  # nosec B310 - our own local server
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    pytest.fail(f"gunicorn did not answer within {SERVER_START_SECONDS} s:\n{log.read_text()}")


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def live_server(request, chromium, tmp_path_factory, model_artifact):
    backend = request.param
    folder = tmp_path_factory.mktemp(f"served-{backend}")
    if backend == "sqlite":
        url = f"sqlite:///{folder / 'feedback.db'}"
    else:
        if not PG_URL:
            if REQUIRE_PG:
                pytest.fail("TEST_REQUIRE_POSTGRESQL=1 but TEST_DATABASE_URL is not set")
            pytest.skip("Browser suite on PostgreSQL skipped: TEST_DATABASE_URL is not set")
        url = _own_postgresql_database()
    server = LiveServer(url="", database_url=url, backend=backend, mail=MailServer())
    env = _server_environment(url, folder, smtp_port=server.mail.port)
    _flask(env, "db", "upgrade")
    _flask(env, "catalogue", "load")
    app = server.app()
    with app.app_context():
        _store_model(model_artifact)
        db.engine.dispose()

    port = _free_port()
    server.url = f"http://127.0.0.1:{port}"
    env["PUBLIC_BASE_URL"] = server.url  # the links in mail lead to this server
    server.mail.start()
    log = folder / "gunicorn.log"
    with open(log, "w") as out:
        process = subprocess.Popen(  # nosec B603 - fixed arguments, the virtualenv's own gunicorn
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "--workers",
                "2",
                "--bind",
                f"127.0.0.1:{port}",
                "--access-logfile",
                "-",
                "wsgi:app",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    with open(folder / "worker.log", "w") as out:
        worker = subprocess.Popen(  # nosec B603 - fixed arguments, the virtualenv's own consumer
            [
                str(Path(sys.executable).parent / "huey_consumer"),
                "feedback_app.worker.huey",
                "--workers",
                "2",
                "--max-delay",
                "1",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_serving(process, server.url, log)
        yield server
    finally:
        for running in (process, worker):
            running.terminate()
            try:
                running.wait(timeout=15)
            except subprocess.TimeoutExpired:
                running.kill()
                running.wait()
        server.mail.stop()


@pytest.fixture
def served_app(live_server):
    """An application context on the served database, for set-up through the services."""
    app = live_server.app()
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


MAIL_WAIT_SECONDS = 30


class Mailbox:
    """The mail the worker beside the live server sent, read as a resident reads theirs: by the
    address it went to, its subject, and the links in its text part."""

    def __init__(self, server: MailServer, base_url: str):
        self.server = server
        self.base_url = base_url

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.server.to(address) if parseaddr(str(m["To"]))[1].lower() == address.lower()]

    def wait_for(self, address: str, subject_has: str, *, seconds: float = MAIL_WAIT_SECONDS) -> EmailMessage:
        """The first message to `address` whose subject holds `subject_has`, once the worker has
        sent it."""
        deadline = time.monotonic() + seconds
        while True:
            found = [m for m in self.to(address) if subject_has in str(m["Subject"])]
            if found:
                return found[0]
            if time.monotonic() > deadline:
                subjects = [str(m["Subject"]) for m in self.to(address)]
                raise AssertionError(f"no mail to {address} about {subject_has!r} in {seconds} s; it has {subjects}")
            time.sleep(0.1)

    @staticmethod
    def text(message: EmailMessage) -> str:
        return message.get_body(("plain",)).get_content()  # type: ignore[union-attr]

    def links(self, message: EmailMessage) -> list[str]:
        """The paths of the links to this server in the message's text part."""
        return re.findall(re.escape(self.base_url) + r"(/[^\s<>\"]+)", self.text(message))

    def link(self, message: EmailMessage, starting: str) -> str:
        found = [link for link in self.links(message) if link.startswith(starting)]
        assert found, f"no link starting {starting} in {message['Subject']!r}: {self.links(message)}"
        return found[0]


@pytest.fixture
def mailbox(live_server) -> Mailbox:
    return Mailbox(live_server.mail, live_server.url)


# --- journeys --------------------------------------------------------------------------------


class AxeViolations(AssertionError):
    pass


class PageTooWide(AssertionError):
    pass


# The page's width against its screen's, and the elements that stick out past the screen's right
# edge (outside any box that scrolls or clips them; a box whose text runs past it counts too).
# Measured against the root element's clientWidth, the layout viewport: a phone browser zooms out
# to show a page wider than its screen, and window.innerWidth grows with it (a 569 px page on a
# 390 px phone reads innerWidth 569), so the check would never fail on the phone against it.
_WIDTH_SCRIPT = """() => {
  const root = document.documentElement, limit = root.clientWidth;
  const clipped = el => { for (let p = el.parentElement; p && p !== root; p = p.parentElement) {
      if (getComputedStyle(p).overflowX !== 'visible') return true; } return false; };
  const name = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
      + (typeof el.className === 'string' && el.className.trim() ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
  const out = [];
  for (const el of document.body.querySelectorAll('*')) {
    if (out.length >= 5) break;
    if (!el.checkVisibility() || clipped(el)) continue;
    const r = el.getBoundingClientRect();
    const right = Math.max(r.right, getComputedStyle(el).overflowX === 'visible' ? r.left + el.scrollWidth : 0);
    if (right > limit + 1) out.push(`${name(el)} to ${Math.round(right)} px: "${el.textContent.trim().slice(0, 50)}"`);
  }
  return {scroll: root.scrollWidth, limit, inner: window.innerWidth, sticking_out: out};
}"""


def _describe_violations(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} ({v.get('impact')}): {v['help']}")
        for node in v["nodes"][:10]:
            lines.append(f"    at {' '.join(map(str, node['target']))}: {node.get('failureSummary', '').strip()}")
    return "\n".join(lines)


class Journey:
    """One person's way through the site, in one language on one screen size.

    `look(page, step)` is what every page gets: checked with axe, its header's targets and lines,
    its width against the screen's; kept as a screenshot with BROWSER_SCREENSHOTS=1.
    """

    def __init__(self, context, name: str, lang: str, viewport: str, base_url: str, backend: str):
        self.context = context
        self.name = name
        self.lang = lang
        self.viewport = viewport
        self.base_url = base_url
        self.backend = backend
        self.steps = 0

    def new_page(self):
        return self.context.new_page()

    def open(self, page, path: str, step: str, *, status: int = 200):
        response = page.goto(self.base_url + path)
        assert response is not None and response.status == status, (path, response and response.status)
        self.look(page, step)
        return page

    def tab_to(self, page, selector: str, *, limit: int = 120) -> None:
        """Press Tab until the element matching `selector` has the focus, as a keyboard user
        would; every stop on the way must show where the focus is."""
        for _ in range(limit):
            page.keyboard.press("Tab")
            focused = page.evaluate(
                """selector => { const el = document.activeElement;
                     if (!el || el === document.body) return {matches: false, visible: true};
                     const style = getComputedStyle(el);
                     const visible = (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2)
                                     || style.boxShadow !== 'none';
                     return {matches: el.matches(selector), visible, what: el.outerHTML.slice(0, 120)}; }""",
                selector,
            )
            assert focused["visible"], f"no visible focus on {focused.get('what')} ({self.viewport})"
            if focused["matches"]:
                return
        raise AssertionError(f"{selector} cannot be reached with the Tab key on {page.url}")

    def sign_in(self, page, email: str, password: str, *, keyboard: bool = False, step: str = "sign-in") -> None:
        """Sign in as a member of staff: password, then the authenticator's code. An account with
        no authenticator yet is refused at sign-in and told to use its enrolment link: the journey
        then opens a link issued as an administrator would, types the password there, scans the
        key and confirms a code, which signs it in. With `keyboard`, only keys."""
        self.open(page, "/account/login", step)

        def fill(selector: str, value: str) -> None:
            if keyboard:
                self.tab_to(page, selector)
                page.keyboard.type(value)
            else:
                page.fill(selector, value)

        def send() -> None:
            with page.expect_navigation():
                if keyboard:
                    page.keyboard.press("Enter")
                else:
                    page.locator("main form [type=submit]").first.click()

        fill("#email", email)
        fill("#password", password)
        send()
        db.session.commit()  # a new transaction sees the account as the server left it
        user = accounts.find_by_email(email)
        refused = page.locator(".error-summary, .flash-error")
        if enrolment.needs_link(user):
            assert page.url.split("?")[0].endswith("/account/login") and refused.count() == 1, page.url
            self.look(page, f"{step}-needs-enrolment-link")
            link = accounts.issue_enrolment_link(user.id)
            self.open(page, f"/account/enrol/{link.token}", f"{step}-enrolment-link")
            fill("#password", password)
            send()
            assert page.url.endswith("/authenticator"), page.url
            self.look(page, f"{step}-enrol")
            secret = page.locator("#two-factor-secret").inner_text().replace(" ", "")
            fill("#code", totp_code(secret))
            send()
            self.look(page, f"{step}-recovery-codes")
            with page.expect_navigation():
                if keyboard:
                    self.tab_to(page, "#two-factor-continue")
                    page.keyboard.press("Enter")
                else:
                    page.locator("#two-factor-continue").click()
        else:
            assert not refused.count(), f"sign-in refused: {refused.first.inner_text()}"
            assert page.url.split("?")[0].endswith("/account/login/code"), page.url
            self.look(page, f"{step}-code")
            fill("#code", totp_code(user.totp_secret, after_step=user.totp_last_step))
            send()
        assert "/account/" not in page.url, f"still signing in at {page.url}"

    def look(self, page, step: str) -> None:
        page.wait_for_load_state("load")
        STATS.pages += 1
        self.steps += 1
        if TAKE_SCREENSHOTS:
            folder = SCREENSHOTS / self.backend / self.name
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{self.lang}-{self.viewport}-{self.steps:02d}-{step}.png"
            page.screenshot(path=str(path), full_page=True)
            STATS.screenshots += 1
        self.check_width(page, step)
        self.check_accessibility(page, step)
        self.check_header(page, step)
        STATS.finished = time.monotonic()

    def check_width(self, page, step: str) -> None:
        """The page fits its screen, a 390 px phone included: nothing in it makes the page scroll
        sideways (a wide table scrolls inside its own region, or becomes rows: .rows-on-phone)."""
        width = page.evaluate(_WIDTH_SCRIPT)
        if width["scroll"] > width["limit"] + 1:
            raise PageTooWide(
                f"{page.url} is {width['scroll']} px wide on a {width['limit']} px screen "
                f"({self.name}, {self.lang}, {self.viewport}, step {step}); sticking out:\n  "
                + "\n  ".join(width["sticking_out"] or ["(no single element found)"])
            )

    def check_accessibility(self, page, step: str) -> None:
        # evaluate, not add_script_tag: the site's CSP refuses inline scripts, and rightly.
        if not page.evaluate("typeof window.axe !== 'undefined'"):
            page.evaluate(_axe_source())
        result = page.evaluate(
            "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})",
            AXE_TAGS,
        )
        STATS.axe_runs += 1
        if result["violations"]:
            raise AxeViolations(
                f"axe found {len(result['violations'])} problem(s) on {page.url} "
                f"({self.name}, {self.lang}, {self.viewport}, step {step}):\n{_describe_violations(result['violations'])}"
            )

    def check_header(self, page, step: str) -> None:
        """The header takes at most two lines, and each of its links and buttons is a target of at
        least 24×24 CSS pixels (WCAG 2.2, 2.5.8), on a phone as on a desktop."""
        boxes = page.evaluate(
            """() => [...document.querySelectorAll('.site-header a, .site-header button, .site-header summary')]
                 .filter(el => el.checkVisibility())  // not what a closed menu holds
                 .map(el => { const r = el.getBoundingClientRect();
                              return {text: el.textContent.trim(), top: r.top, width: r.width, height: r.height}; })"""
        )
        small = [b for b in boxes if b["width"] < 24 or b["height"] < 24]
        assert not small, f"header targets under 24×24 px on {step} ({self.viewport}): {small}"
        rows: list[float] = []
        for b in sorted(boxes, key=lambda b: b["top"]):
            if not rows or b["top"] - rows[-1] > b["height"] / 2:
                rows.append(b["top"])
        assert len(rows) <= 2, f"the header takes {len(rows)} lines on {step} ({self.viewport}): {boxes}"


_AXE_CACHE: list[str] = []


def _axe_source() -> str:
    if not _AXE_CACHE:
        _AXE_CACHE.append(AXE_SOURCE_PATH.read_text(encoding="utf-8"))
    return _AXE_CACHE[0]


# Every journey runs in every language on both screens against SQLite. Against PostgreSQL (the
# same pages with another database under them: what differs is the database's behaviour, not the
# language's or the screen's) it runs once, in Traditional Chinese on a phone, as most residents
# will use it — keeping the suite's time in bounds.
POSTGRESQL_GRID = {("zh_Hant", "phone")}


def pytest_collection_modifyitems(config, items):
    deselected = []
    for item in list(items):
        params = item.callspec.params if hasattr(item, "callspec") else {}
        if (
            params.get("live_server") == "postgresql"
            and (params.get("lang"), params.get("viewport")) not in POSTGRESQL_GRID
        ):
            deselected.append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if item not in deselected]


@pytest.fixture(params=list(LOCALES))
def lang(request) -> str:
    return request.param


@pytest.fixture(params=list(VIEWPORTS))
def viewport(request) -> str:
    return request.param


@pytest.fixture
def journey_factory(chromium, live_server, lang, viewport):
    """A fresh browser context (no cookies) in the test's language and screen size."""
    contexts = []

    def start(name: str) -> Journey:
        context = chromium.new_context(
            viewport=VIEWPORTS[viewport],
            locale=LOCALES[lang],
            is_mobile=viewport == "phone",
            has_touch=viewport == "phone",
        )
        # The copy button writes the tracking link to the clipboard; the journey reads it back.
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
        context.set_default_timeout(15_000)
        contexts.append(context)
        return Journey(context, name, lang, viewport, live_server.url, live_server.backend)

    yield start
    for context in contexts:
        context.close()


def pytest_sessionfinish(session):
    if STATS.pages:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        (SCREENSHOTS / "summary.json").write_text(
            json.dumps(
                {
                    "pages": STATS.pages,
                    "screenshots": STATS.screenshots,
                    "axe_runs": STATS.axe_runs,
                    "seconds": round(STATS.seconds, 1),
                },
                indent=2,
            )
        )
