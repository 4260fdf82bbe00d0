"""Random and hostile values at every route and every form, on both databases: never a 5xx.

Routes are read from the app's URL map, so a page added later is fuzzed without touching this
file; only the values are chosen per kind of argument. Each route is requested by a visitor
and by a signed-in moderator, officer, admin and resident (one whose address is confirmed: the
tracking page offers it "Add this view to my account"). Forms are posted as a browser would (the
CSRF token and hidden fields taken from the page that shows the form), with hostile values in
the fields, the path and the query string.

Two passes are not random. Every field of every form is sent once as a multipart file part (a
script can send any field as a file; text fields used to crash on it), and every field of every
filter form (a GET form: the review queue's, the catalogue's search) is sent each extreme date.

The number of requests is printed (`pytest -rP tests/test_fuzz.py` shows it).

What each database gets. Everything that can reach a query runs on both: every page read as each
persona, the extreme dates in every filter, and hostile values in every route's path, query and
form fields, for each route, method and persona. On PostgreSQL the random pass draws a third of
the examples (the same strategies, so every route, method and persona still meets hostile values
there), and the file-part pass runs on SQLite only: a field sent as a file is refused by the
form layer (the base form) before any query, so the database under it changes nothing.
"""

from __future__ import annotations

import io
import traceback
import zlib
from datetime import UTC, datetime
from html.parser import HTMLParser
from urllib.parse import quote, urlsplit

import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from sqlalchemy import select, update
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from feedback_app.auth import services as accounts
from feedback_app.auth import signup
from feedback_app.bureau import services as bureau
from feedback_app.extensions import db
from feedback_app.intake import services as intake
from feedback_app.kernel.models import Bureau, Initiative, Role, SmartArea, Status, Submission, User
from feedback_app.moderation import services as moderation

from . import factories
from .conftest import Browser, hypothesis_examples

# Per route, method and persona: ~45 x 4 x 12 requests today (a quarter in the quick profile).
EXAMPLES = hypothesis_examples(12)
# On PostgreSQL (see the docstring): a third of them.
EXAMPLES_POSTGRESQL = hypothesis_examples(4)

# Numbers as ids and page numbers meet them: past the 32- and 64-bit columns, negative,
# digits that str.isdigit() accepts but int() does not (or does, to a different number).
NUMBERS = [
    "0",
    "-1",
    "1.5",
    "1e309",
    "NaN",
    "2147483647",
    "2147483648",
    "-2147483649",
    "9223372036854775807",
    "9223372036854775808",
    "9" * 40,
    "9" * 5000,
    "²",
    "١٢",
    "０１２",
    "Ⅻ",
    "1\x00",
]
# Text as codes, references, search terms and form fields meet it.
TEXTS = [
    "",
    " ",
    "null",
    "None",
    "true",
    "[]",
    "{}",
    "\x00",
    "a\x00b",
    "%00",
    "%2500",
    "\x1b[31m",
    "\x7f",
    "\t",
    "\r\nSet-Cookie: a=b",
    "\u2028",
    "../../../etc/passwd",
    "..",
    "./",
    "/",
    "//evil.example",
    "/\t/evil.example",
    "\\\\evil.example",
    "https://evil.example/",
    "javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "' OR '1'='1",
    "'; DROP TABLE submission; --",
    "1 UNION SELECT password_hash FROM user_account",
    "%",
    "%%",
    "_",
    "%ff",
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "{{7*7}}",
    "${7*7}",
    "😀" * 50,
    "\u202egnp.exe",
    "\u200f\u200e",
    "\ufeff",
    "ß" * 10,
    "İ",
    "x" * 3000,
    "SCF-2026-000001",
    "SCF-2026-" + "9" * 30,
    "zh_Hant",
    "en",
    "routed",
    "published",
    "spam",
    "admin",
    "TLB",
    "mobility",
]
# Dates as filters meet them: the first and last a date can be, past the last, impossible, huge.
DATES = [
    "9999-12-31",
    "0001-01-01",
    "10000-01-01",
    "0000-00-00",
    "2026-02-30",
    "-2026-01-01",
    "99999999999999999999-12-31",
    "9" * 400,
    "2026-01-01T00:00:00+99:00",
]
# The fixed pass sends these to every field of every filter; the random one all of DATES.
FILTER_DATES = ["9999-12-31", "0001-01-01", "10000-01-01", "2026-02-30", "9" * 400]
QUERY_KEYS = [
    "after",
    "page",
    "q",
    "status",
    "area",
    "bureau",
    "visibility",
    "reference",
    "next",
    "role",
    "active",
    "new",
    "lang",
    "since",
    "until",
]
HEADER_VALUES = [
    "en",
    "zh-HK",
    "zh-HK,zh;q=0.9,en;q=0.8",
    "*",
    "",
    ";;;",
    "q=2",
    "zh;q=NaN",
    "x" * 2000,
    "en;q=0.5, " * 100,
    "../../",
    "ar-EG",
]

hostile = st.one_of(
    st.sampled_from(NUMBERS),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.sampled_from(TEXTS),
    st.sampled_from(DATES),
    st.text(max_size=40),
)


def _as_file(value: str):
    """A form value as a browser sends a file: a multipart part with a file name (fresh each time:
    the test client reads the stream)."""
    return io.BytesIO(value.encode("utf-8", "surrogatepass")), "field.txt", "text/plain"


class _Forms(HTMLParser):
    """The forms on a page: action and the fields a browser would send; POST forms, and GET ones
    (filters) apart."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[tuple[str, dict[str, list[str]]]] = []
        self.filters: list[tuple[str, dict[str, list[str]]]] = []
        self._fields: dict[str, list[str]] | None = None
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._fields = {}
            post = (attrs.get("method") or "").lower() == "post"
            (self.forms if post else self.filters).append((attrs.get("action") or "", self._fields))
        elif self._fields is None:
            return
        elif tag in ("input", "textarea") and attrs.get("name"):
            self._fields.setdefault(attrs["name"], []).append(attrs.get("value") or "")
        elif tag == "select" and attrs.get("name"):
            self._select = attrs["name"]
            self._fields.setdefault(self._select, [])
        elif tag == "option" and self._select:
            self._fields[self._select].append(attrs.get("value") or "")

    def handle_endtag(self, tag):
        if tag == "form":
            self._fields = None
        elif tag == "select":
            self._select = None


def _path(rule, values: dict[str, str]) -> str:
    """The rule's URL with raw values put in (percent-encoded), whatever its converters allow."""
    parts = []
    for is_dynamic, data in rule._trace:
        parts.append(quote(values[data], safe="") if is_dynamic else data)
    return "".join(parts).split("|", 1)[1]


class Fuzzer:
    def __init__(self, app, clients: dict[str, object], valid: dict[str, list[str]]):
        self.app = app
        self.clients = clients
        self.valid = valid
        self.requests = 0
        self.failures: list[str] = []
        self.rules = sorted((r for r in app.url_map.iter_rules() if r.endpoint != "static"), key=lambda r: r.rule)
        self.forms: dict[tuple[str, str], list[tuple[str, dict[str, list[str]]]]] = {}
        self.filters: dict[tuple[str, str], list[tuple[str, dict[str, list[str]]]]] = {}
        self.adapter = app.url_map.bind("localhost")

    # -- requests ---------------------------------------------------------------------------

    def send(self, persona, method, url, **kwargs):
        self.requests += 1
        try:
            response = self.clients[persona].open(url, method=method, **kwargs)
            # A streamed body (an export) runs as it is read: read it here, so an error in it is
            # caught as the request's own, and close it in this request's context.
            response.get_data()
            response.close()
        except Exception:  # noqa: BLE001 - with TESTING on, an unhandled error comes out here instead of a 500
            self.failures.append(f"{persona} {method} {url!r} {kwargs!r}: raised\n{traceback.format_exc(limit=-3)}")
            return None
        if response.status_code >= 500:
            self.failures.append(f"{persona} {method} {url!r} {kwargs!r}: {response.status_code}")
        return response

    # -- the pages' own forms, to post as a browser would ------------------------------------

    def collect_forms(self):
        for persona in self.clients:
            for rule in self.rules:
                if "GET" not in rule.methods:
                    continue
                for values in self._valid_combinations(rule):
                    response = self.send(persona, "GET", _path(rule, values))
                    if response is None or response.status_code != 200 or "html" not in response.mimetype:
                        continue
                    parser = _Forms()
                    parser.feed(response.get_data(as_text=True))
                    for action, fields in parser.forms:
                        self._remember(self.forms, persona, action or _path(rule, values), fields, "POST")
                    for action, fields in parser.filters:
                        self._remember(self.filters, persona, action or _path(rule, values), fields, "GET")

    def _remember(self, found, persona, action, fields, method):
        path = urlsplit(action).path
        try:
            endpoint, _ = self.adapter.match(path, method=method)
        except HTTPException:
            return
        found.setdefault((persona, endpoint), []).append((action, fields))

    # -- the fixed passes: files where text belongs, extreme dates in every filter ----------

    def send_files(self, reset):
        """Each form as shown, with one field at a time sent as a file part, then all at once."""
        for (persona, _endpoint), forms in sorted(self.forms.items()):
            action, fields = forms[0]
            shown = {name: (choices[0] if choices else "") for name, choices in fields.items()}
            for as_files in [[name] for name in sorted(fields)] + [sorted(fields)]:
                data = {**shown, **{name: _as_file(shown[name] or "text") for name in as_files}}
                self.send(persona, "POST", action, data=data, content_type="multipart/form-data")
                reset()

    def send_dates(self):
        """Each field of each filter form, with each extreme date, the other fields as shown."""
        for (persona, _endpoint), filters in sorted(self.filters.items()):
            action, fields = filters[0]
            shown = {name: (choices[0] if choices else "") for name, choices in fields.items()}
            for name in sorted(fields):
                for date in FILTER_DATES:
                    self.send(persona, "GET", action, query_string={**shown, name: date})

    def _valid_combinations(self, rule, limit=4):
        names = sorted(rule.arguments)
        if not names:
            return [{}]
        pools = [self._valid_for(rule, name)[:limit] for name in names]
        combos = [{}]
        for name, pool in zip(names, pools, strict=True):
            combos = [{**c, name: v} for c in combos for v in pool]
        return combos[: limit * 2]

    def _valid_for(self, rule, name) -> list[str]:
        if isinstance(rule._converters[name], IntegerConverter):
            return self.valid["id"]
        return self.valid.get(name) or self.valid["code"]

    # -- hypothesis: a few examples for each route, method and persona ----------------------

    def run(self, examples: int, reset):
        for persona in self.clients:
            for rule in self.rules:
                for method in sorted(rule.methods & {"GET", "POST"}):
                    self._test_for(examples, reset, persona, rule, method)()

    def _test_for(self, examples, reset, persona, rule, method):
        # A fixed seed per route, method and persona: every run is the same, and each route
        # gets its own values (derandomize would give every route the same ones).
        @seed(zlib.crc32(f"{persona} {method} {rule.rule}".encode()))
        @settings(
            max_examples=examples,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(st.data())
        def test(data):
            self._one(data, persona, rule, method)
            if method == "POST":
                reset()

        return test

    def _one(self, data, persona, rule, method):
        values = {
            name: data.draw(st.one_of(st.sampled_from(self._valid_for(rule, name)), hostile), label=name)
            for name in rule.arguments
        }
        url = _path(rule, values)
        # Each known argument is there or not, so every page meets each of them often.
        query = data.draw(st.fixed_dictionaries({}, optional={key: hostile for key in QUERY_KEYS}), label="query")
        query.update(
            data.draw(st.dictionaries(st.text(min_size=1, max_size=8), hostile, max_size=2), label="other query")
        )
        headers = {"Accept-Language": data.draw(st.sampled_from(HEADER_VALUES), label="accept-language")}
        if method == "GET":
            self.send(persona, "GET", url, query_string=query, headers=headers)
            return
        forms = self.forms.get((persona, rule.endpoint))
        form = {}
        if forms:
            action, fields = data.draw(st.sampled_from(forms), label="form")
            if data.draw(st.booleans(), label="the form's own address"):
                url = urlsplit(action).path
            for name, choices in fields.items():
                keep = name in ("csrf_token", "form_token", "version") and data.draw(st.integers(0, 9)) > 0
                pool = [c for c in choices if c] or [""]
                form[name] = data.draw(
                    st.sampled_from(pool) if keep else st.one_of(st.sampled_from(pool), hostile), label=name
                )
        else:
            form["csrf_token"] = self.valid["csrf_token"][0]
        form.update(
            data.draw(st.dictionaries(st.text(min_size=1, max_size=8), hostile, max_size=2), label="extra fields")
        )
        # Now and then one field as a file part, as a script may send it.
        if form and data.draw(st.integers(0, 4), label="a file part") == 0:
            name = data.draw(st.sampled_from(sorted(form)), label="sent as a file")
            form[name] = _as_file(form[name])
        self.send(persona, "POST", url, query_string=query, data=form, headers=headers)


def _verification_token() -> str:
    """The token of a new resident account's e-mail verification link (/account/verify/<token>),
    so that the page's confirm form is posted too."""
    signup.sign_up("unconfirmed@example.org", factories.PASSWORD, None, locale="en")
    return signup.verification_token(accounts.find_by_email("unconfirmed@example.org"))


def _restore(users: dict[str, dict]):
    """Put the signed-in personas back as they were: a fuzzed sign-out, deactivation, role
    change or two-factor reset would otherwise leave the rest of the run as a visitor."""
    for user_id, columns in users.items():
        db.session.execute(update(User).where(User.id == user_id).values(**columns))
    db.session.commit()


# Its time grows with every route added (routes x methods x personas x EXAMPLES requests, each
# followed by a database reset): past the suite's 300 s hang guard on a busy machine. It is no
# timed test; this only guards against a hang.
@pytest.mark.timeout(1200)
@pytest.mark.slow
@pytest.mark.fuzz
def test_no_route_answers_hostile_input_with_a_server_error(app, client, backend):
    staff = {
        "moderator": factories.user(Role.MODERATOR),
        "officer": factories.user(Role.OFFICER, bureau="TLB"),
        "admin": factories.user(Role.ADMIN),
    }
    factories.user(Role.RESIDENT)  # someone for the admin pages to act on
    staff["resident"] = factories.user(Role.RESIDENT)  # not staff, but signed in and restored alike
    staff["resident"].email_verified_at = datetime.now(UTC)
    db.session.commit()
    receipt = intake.submit(
        intake.NewSubmission(
            body=factories.TRANSPORT_VIEW,
            language="en",
            topic_area="mobility",
            initiative_id=factories.initiative().id,
        )
    )
    # Answered, so that its tracking page asks "did this answer your point?" (a form to post).
    answered = db.session.get(Submission, receipt.submission_id)
    if (answered.status, answered.bureau_code) != (Status.ROUTED, "TLB"):
        moderation.route(answered.id, area="mobility", bureau="TLB", actor=staff["moderator"], version=answered.version)
    bureau.answer(
        staff["officer"], receipt.submission_id, bureau.AnswerText("We asked the operator for more trips.", None)
    )
    factories.submission(factories.TRANSPORT_VIEW + " Call me on 9123 4567.")  # waits for review

    clients = {"visitor": client}
    for name, user in staff.items():
        clients[name] = app.test_client()
        signed_in = Browser(clients[name]).login(user.email)
        assert signed_in.status_code == 200 and not signed_in.request.path.startswith("/account/login"), name
    snapshot = {
        user.id: {c.key: getattr(db.session.get(User, user.id), c.key) for c in User.__table__.columns if c.key != "id"}
        for user in staff.values()
    }
    # A persona's cookies as they were after signing in (werkzeug keeps them in `_cookies`).
    jars = {name: dict(c._cookies) for name, c in clients.items()}

    ids = sorted({*db.session.execute(select(User.id)).scalars(), *db.session.execute(select(Submission.id)).scalars()})
    areas = list(db.session.execute(select(SmartArea.code).order_by(SmartArea.code)).scalars())
    initiatives = list(db.session.execute(select(Initiative.code).order_by(Initiative.id).limit(3)).scalars())
    valid = {
        # Ids of existing rows (users and submissions share small numbers, so each id reaches
        # both kinds of page); the first of each list is what the form pages are read with.
        "id": [str(receipt.submission_id), *(str(i) for i in ids if i != receipt.submission_id)],
        # A bureau's code too: its answers' feed (/bureaus/<code>/answers.atom) takes one.
        "code": [areas[0], initiatives[0], "en", *areas[1:], *initiatives[1:], "zh_Hant", "TLB"],
        "reference": [receipt.reference],
        "token": [receipt.tracking_token, _verification_token()],
        "filename": ["style.css"],
        "bureau": list(db.session.execute(select(Bureau.code).limit(3)).scalars()),
    }

    fuzzer = Fuzzer(app, clients, valid)
    fuzzer.collect_forms()
    tokens = [v for (_p, _e), forms in fuzzer.forms.items() for _a, f in forms for v in f.get("csrf_token", [])]
    assert tokens, "no form with a CSRF token was found"
    valid["csrf_token"] = tokens[:1]
    assert fuzzer.forms, "no form was found to post"

    def reset():
        for name, c in clients.items():
            c._cookies = dict(jars[name])
        _restore(snapshot)

    read = fuzzer.requests
    if backend == "sqlite":  # the web layer refuses file parts before any query (docstring)
        fuzzer.send_files(reset)
    files = fuzzer.requests - read
    fuzzer.send_dates()
    dated = fuzzer.requests - read - files
    fuzzer.run(EXAMPLES if backend == "sqlite" else EXAMPLES_POSTGRESQL, reset)
    posted = sorted({f"{persona}:{endpoint}" for persona, endpoint in fuzzer.forms})
    filtered = sorted({f"{persona}:{endpoint}" for persona, endpoint in fuzzer.filters})
    print(
        f"\nfuzz [{backend}]: {fuzzer.requests} requests to {len(fuzzer.rules)} routes "
        f"({read} reading the pages, {files} sending each field as a file, {dated} with extreme dates in filters), "
        f"{len(fuzzer.failures)} server errors; forms posted as shown: {', '.join(posted)}; "
        f"filters: {', '.join(filtered)}"
    )
    assert not fuzzer.failures, "\n".join(fuzzer.failures[:20])
