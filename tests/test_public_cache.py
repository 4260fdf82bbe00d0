"""Fast public pages (web/public_cache.py): validators and a 304 without rendering, a shared cache
keyed on the public version and the language, and never a page that is someone's own served to
someone else (a signed-in person's, one with a flash message or a CSRF token)."""

from __future__ import annotations

import logging
import re
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import event, update

from feedback_app.extensions import db
from feedback_app.kernel import public
from feedback_app.kernel.models import PublicState, Role, utcnow
from feedback_app.web import public_cache

from . import factories
from .conftest import RequestIsolatedClient, csrf_token
from .test_public_lists import GENERAL, published


@pytest.fixture(autouse=True)
def each_request_its_own_context(app):
    # Every client of the app, like `client`: each request with its own `g`, as in production.
    app.test_client_class = RequestIsolatedClient


@pytest.fixture
def cached(app):
    """The app with the in-memory cache production uses without Redis (tests run with none)."""
    app.config["CACHE_TYPE"] = "SimpleCache"
    public_cache.configure(app)
    return app


class Statements:
    """Counts the SQL statements run while it is open (SQLite's explicit BEGIN aside)."""

    def __enter__(self):
        self.count = 0
        event.listen(db.engine, "before_cursor_execute", self._counted)
        return self

    def _counted(self, _connection, _cursor, statement, *_args):
        self.count += statement.strip().upper() != "BEGIN"

    def __exit__(self, *_exc):
        event.remove(db.engine, "before_cursor_execute", self._counted)


def test_a_visitor_gets_validators_and_a_conditional_get_a_304_without_rendering(cached, client):
    first = client.get("/areas/mobility")
    assert first.status_code == 200
    etag = first.headers["ETag"]
    assert first.headers["Last-Modified"]
    assert first.headers["Cache-Control"] == "no-cache"
    assert {"Cookie", "Accept-Language"} <= {v.strip() for v in first.headers["Vary"].split(",")}
    assert "Set-Cookie" not in first.headers

    with Statements() as statements:
        again = client.get("/areas/mobility", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert statements.count == 1  # the public version, nothing else
    assert again.headers["ETag"] == etag

    with Statements() as statements:
        cached_page = client.get("/areas/mobility")
    assert cached_page.data == first.data and statements.count == 1  # from the cache


def test_publishing_a_view_shows_it_at_once_with_a_new_etag(cached, client, moderator):
    before = client.get("/areas/mobility")
    view = published(GENERAL, moderator, area="mobility")

    after = client.get("/areas/mobility", headers={"If-None-Match": before.headers["ETag"]})

    assert after.status_code == 200
    assert view.reference in after.get_data(as_text=True)
    assert after.headers["ETag"] != before.headers["ETag"]
    assert view.reference in client.get(f"/views/{view.reference}").get_data(as_text=True)
    assert view.reference in client.get("/views?q=lampposts").get_data(as_text=True)


def test_a_signed_in_persons_page_is_never_shared_either_way(cached, app, client, login_as):
    initiative = factories.initiative()
    url = f"/initiatives/{initiative.code}"
    resident = factories.user(Role.RESIDENT)
    resident.display_name = "Resident Marker-Name"
    db.session.commit()
    visitor = app.test_client()

    assert "Sign out" not in visitor.get(url).get_data(as_text=True)  # cached for visitors now
    login_as(resident)
    own = client.get(url)
    page = own.get_data(as_text=True)
    assert "Resident Marker-Name" in page and "Sign out" in page
    assert "ETag" not in own.headers and own.headers["Cache-Control"] == "no-store"

    for _ in range(2):
        shared = visitor.get(url).get_data(as_text=True)
        assert "Resident Marker-Name" not in shared and "Sign out" not in shared and "csrf_token" not in shared


def test_a_page_with_a_csrf_token_is_rendered_for_each_visitor(cached, app, moderator):
    view = published(GENERAL, moderator)
    url = f"/views/{view.reference}"
    one, other = app.test_client(), app.test_client()

    first, second = one.get(url), other.get(url)

    assert csrf_token(first.get_data(as_text=True)) != csrf_token(second.get_data(as_text=True))
    for response in (first, second):
        assert "ETag" not in response.headers
        assert response.headers["Cache-Control"] == "private, no-cache"
        assert "Set-Cookie" in response.headers  # the session holding the token


def test_a_flash_message_is_shown_to_its_visitor_only(cached, app, moderator):
    view = published(GENERAL, moderator)
    supporter, other = app.test_client(), app.test_client()
    token = csrf_token(supporter.get(f"/views/{view.reference}").get_data(as_text=True))
    thanked = supporter.post(f"/views/{view.reference}/support", data={"csrf_token": token}, follow_redirects=True)
    assert "your support is counted" in thanked.get_data(as_text=True)
    # The home page with a flash waiting is rendered for that visitor alone, and not stored.
    supporter.post(f"/views/{view.reference}/support", data={"csrf_token": token})
    flashed = supporter.get("/")
    assert "already supported" in flashed.get_data(as_text=True) and "ETag" not in flashed.headers
    assert "already supported" not in other.get("/").get_data(as_text=True)


def test_each_language_has_its_own_page(cached, app):
    english = app.test_client().get("/").get_data(as_text=True)
    chinese_client = app.test_client()
    chinese_client.set_cookie("lang", "zh_Hant")
    chinese = chinese_client.get("/").get_data(as_text=True)
    by_header = app.test_client().get("/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "Smart areas" in english and "智慧範疇" in chinese and "智慧范畴" in by_header
    assert "智慧" not in english
    assert "Smart areas" in app.test_client().get("/").get_data(as_text=True)


def test_support_counted_moves_the_cached_page_on(cached, app, moderator):
    view = published(GENERAL, moderator)
    visitor = app.test_client()
    assert "1 person supports this view." not in visitor.get("/areas/mobility").get_data(as_text=True)
    supporter = app.test_client()
    token = csrf_token(supporter.get(f"/views/{view.reference}").get_data(as_text=True))
    supporter.post(f"/views/{view.reference}/support", data={"csrf_token": token})
    assert "1 person supports this view." in visitor.get("/areas/mobility").get_data(as_text=True)


def test_a_statistics_page_is_keyed_on_the_statistics_refresh(cached, app, client):
    calls = []

    @public_cache.public_page(on="stats")
    def figures():
        calls.append(1)
        return f"figures {len(calls)}"

    app.add_url_rule("/test-figures", "test_figures", figures)
    assert client.get("/test-figures").data == b"figures 1"
    public.mark_changed()  # the public version moves: the statistics do not
    db.session.commit()
    assert client.get("/test-figures").data == b"figures 1"
    db.session.execute(update(PublicState).where(PublicState.id == 1).values(stats_refreshed_at=utcnow()))
    db.session.commit()
    assert client.get("/test-figures").data == b"figures 2"
    with pytest.raises(ValueError):
        public_cache.public_page(on="weather")


def test_pages_are_served_when_redis_is_down(app, client, caplog):
    app.config.update(CACHE_TYPE="RedisCache", CACHE_REDIS_URL="redis://127.0.0.1:1/0", CACHE_REDIS_TIMEOUT=0.2)
    public_cache.configure(app)
    with caplog.at_level(logging.ERROR):
        for url in ("/", "/areas/mobility", "/views?q=bus", "/initiatives"):
            assert client.get(url).status_code == 200
    failures = [r for r in caplog.records if "cache failed" in r.getMessage()]
    assert len(failures) == 1  # once per outage, then this process's memory meanwhile


def test_nodes_share_pages_through_redis(app, redis_url):
    import redis

    prefix = f"test-public-{uuid.uuid4().hex[:8]}:"
    app.config.update(CACHE_TYPE="RedisCache", CACHE_REDIS_URL=redis_url, CACHE_KEY_PREFIX=prefix)
    public_cache.configure(app)
    store = redis.Redis.from_url(redis_url)
    try:
        first = app.test_client().get("/areas/mobility")
        assert store.keys(f"{prefix}*"), "the page went to Redis under the cache's own prefix"
        app.extensions["public_cache_fallback"].clear()  # another node: nothing in its memory
        with Statements() as statements:
            again = app.test_client().get("/areas/mobility")
        assert again.data == first.data and statements.count == 1
    finally:
        for key in store.scan_iter(f"{prefix}*"):
            store.delete(key)


def test_a_page_that_is_not_there_is_not_kept(cached, client):
    assert client.get("/views/SCF-2026-999999").status_code == 404
    assert client.get("/areas/atlantis").status_code == 404
    page = client.get("/areas/mobility?after=abc")
    assert page.status_code == 400 and "ETag" not in page.headers
    assert re.search(r"<h1>", client.get("/areas/mobility").get_data(as_text=True))


def test_a_stored_page_gets_each_visitors_own_working_csrf_token(cached, app, moderator):
    view = published(GENERAL, moderator)
    url = f"/views/{view.reference}"
    app.test_client().get(url)  # rendered once, stored with a hole for the token
    visitor = app.test_client()

    with Statements() as statements:
        page = visitor.get(url)

    assert statements.count == 1  # from the cache: only the public version was read
    token = csrf_token(page.get_data(as_text=True))
    assert token and "csrf-" not in page.get_data(as_text=True)
    assert "Set-Cookie" in page.headers and "ETag" not in page.headers
    thanked = visitor.post(f"{url}/support", data={"csrf_token": token}, follow_redirects=True)
    assert "your support is counted" in thanked.get_data(as_text=True)
    # Holding a session with a token only, the visitor still gets the shared pages.
    visitor.get("/areas/mobility")  # the support moved the version on: rendered, stored
    with Statements() as statements:
        again = visitor.get("/areas/mobility")
    assert again.status_code == 200 and statements.count == 1 and "ETag" in again.headers


def test_an_entry_changed_in_redis_is_never_read(app, redis_url):
    """Entries are signed bytes, not pickles: what someone else wrote into Redis is a miss."""
    import pickle

    import redis

    prefix = f"test-public-{uuid.uuid4().hex[:8]}:"
    app.config.update(CACHE_TYPE="RedisCache", CACHE_REDIS_URL=redis_url, CACHE_KEY_PREFIX=prefix)
    public_cache.configure(app)
    store = redis.Redis.from_url(redis_url)
    try:
        first = app.test_client().get("/areas/mobility")
        keys = list(store.scan_iter(f"{prefix}*"))
        assert keys
        for key in keys:
            store.set(key, b"!" + pickle.dumps(("text/html", b"<h1>Planted</h1>")))
        app.extensions["public_cache_fallback"].clear()
        again = app.test_client().get("/areas/mobility")
        assert again.status_code == 200 and b"Planted" not in again.data and again.data == first.data
    finally:
        for key in store.scan_iter(f"{prefix}*"):
            store.delete(key)


def test_a_stored_page_keeps_its_content_type(cached, client):
    url = f"/initiatives/{factories.initiative().code}/answers.atom"
    first, again = client.get(url), client.get(url)
    assert first.status_code == again.status_code == 200
    assert again.headers["Content-Type"] == first.headers["Content-Type"] == "application/atom+xml; charset=utf-8"
    assert again.data == first.data


def test_a_statistics_page_moves_on_at_the_turn_of_a_month_in_hong_kong(cached, app, client, monkeypatch):
    """ "The last twelve months" changes at midnight Hong Kong time on the 1st, with no view changed."""
    calls = []

    @public_cache.public_page(on="stats")
    def months():
        calls.append(1)
        return f"months {len(calls)}"

    app.add_url_rule("/test-months", "test_months", months)

    class Clock(datetime):
        now_utc = datetime(2026, 11, 30, 15, 59, tzinfo=UTC)  # 23:59 on 30 November in Hong Kong

        @classmethod
        def now(cls, tz=None):
            return cls.now_utc.astimezone(tz) if tz else cls.now_utc.replace(tzinfo=None)

    monkeypatch.setattr(public_cache, "datetime", Clock)
    assert client.get("/test-months").data == b"months 1"
    assert client.get("/test-months").data == b"months 1"
    Clock.now_utc = datetime(2026, 11, 30, 16, 1, tzinfo=UTC)  # 00:01 on 1 December
    assert client.get("/test-months").data == b"months 2"
