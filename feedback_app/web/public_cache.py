"""Public pages served fast: HTTP validators and a shared cache, keyed on what the public sees.

Everything a public page shows changes only when the public version moves (kernel/public.py:
`mark_changed` runs in the transaction of every change the public sees) or, for the statistics,
when the worker takes changes into the rollups (`stats_refreshed_at`). So a page is keyed on
that version, the reader's language, the deployed code (templates, translations, Python) and
its URL; nothing is ever deleted, a new version simply asks for new keys (old ones expire).

Two layers, both here so that no view repeats the rules:
- `@public_page(on="public" | "stats")`: a visitor whose session holds nothing of theirs but
  a CSRF token (nobody signed in, no flash message, no remember-me cookie) gets the page from
  the shared cache, with an ETag and Last-Modified, and a conditional GET a 304 without anything
  being rendered. A CSRF token (the support form) is a hole in the stored page, filled for each
  visitor as it is sent; such a page is sent privately, without validators. A page whose
  rendering wrote the session otherwise (a flash) or set a cookie is sent privately and never
  stored. Anyone else (signed in, a flash waiting) gets the page rendered for them alone.
  A stored page keeps its body and Content-Type only: a view that sets other headers of its own
  must not be decorated.
- `fragment(name, *key, render=...)`: a piece of a page that is the same for every visitor
  (a list of published views and answers) rendered once per version and language, for pages
  that also carry per-visitor parts (the support form's CSRF token on /views/<reference>).

The store is Flask-Caching (extensions.cache): Redis when REDIS_URL is set, with a short socket
timeout and entries kept as signed bytes (never pickles, which Redis could hand back altered); while Redis fails, pages use this process's memory instead (correct, since keys carry
the version), and the failure is logged once per outage.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache as once
from functools import wraps
from pathlib import Path
from typing import Any

from cachelib import SimpleCache
from cachetools import TTLCache
from flask import Flask, current_app, g, make_response, request, session
from flask_babel import get_locale
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from redis import RedisError
from werkzeug.http import is_resource_modified

from ..extensions import cache
from ..kernel import public
from ..kernel.deadlines import HONG_KONG
from ..text import keys

KINDS = ("public", "stats")
_ROOT = Path(__file__).resolve().parents[2]
_FALLBACK = "public_cache_fallback"
_DOWN_UNTIL = "public_cache_down_until"
_DOWN = "down"
# What a failing store raises: Redis down or slow, an entry that cannot be read.
_STORE_ERRORS = (RedisError, OSError, ValueError, TypeError)


class _SignedBytes:
    """How entries are kept in Redis: our own bytes behind a keyed hash, never a pickle. The
    store's default unpickles whatever it reads, so anyone able to write to Redis could run code
    in the app; here an entry that is not ours (or was changed) reads as a miss."""

    def __init__(self, key: bytes):
        self._key = key

    def _mac(self, value: bytes) -> bytes:
        return keys.signature(self._key, value)

    def dumps(self, value: bytes) -> bytes:
        return self._mac(value) + value

    def loads(self, data: bytes | None) -> bytes | None:
        if data is None or len(data) < 32:
            return None
        mac, value = data[:32], data[32:]
        return value if keys.same_bytes(mac, self._mac(value)) else None


def configure(app: Flask) -> None:
    """Bind the cache: a short socket timeout on Redis, so a dead one costs a page little, and
    entries signed there instead of pickled."""
    config: dict[str, Any] = {}
    redis = app.config.get("CACHE_TYPE") == "RedisCache"
    if redis:
        timeout = float(app.config.get("CACHE_REDIS_TIMEOUT", 0.2))
        config["CACHE_OPTIONS"] = {"socket_timeout": timeout, "socket_connect_timeout": timeout}
    cache.init_app(app, config=config)
    if redis:
        secret = str(app.config["SECRET_KEY"]).encode()
        signing = bytes.fromhex(keys.keyed_hash(secret, "public-cache", "entries"))
        cache.cache.serializer = _SignedBytes(signing)  # type: ignore[assignment]  # cachelib types its own
    app.extensions[_FALLBACK] = SimpleCache(threshold=int(app.config.get("CACHE_THRESHOLD", 500)))
    # Holds one mark while the shared store is taken for down: it expires after CACHE_RETRY_SECONDS.
    app.extensions[_DOWN_UNTIL] = TTLCache(maxsize=1, ttl=float(app.config.get("CACHE_RETRY_SECONDS", 30)))


@dataclass(frozen=True)
class _Version:
    tag: str
    modified: datetime | None


def _version(on: str) -> _Version:
    """The version a page of this kind is keyed on, read once per request."""
    state = g.get("_public_state")
    if state is None:
        state = g._public_state = public.state()
    if on == "public":
        # With the time it moved: a database restored or rebuilt (its version counted again from
        # 1) never meets the pages a shared Redis kept for the old one.
        return _Version(f"{state.version}@{state.changed_at.isoformat()}", state.changed_at)
    refreshed = state.stats_refreshed_at
    # And the month in Hong Kong: the default period ("the last twelve months") moves on at a
    # month's turn even when no view changed.
    month = datetime.now(HONG_KONG).strftime("%Y-%m")
    return _Version(f"{refreshed.isoformat() if refreshed else 'never'}@{month}", refreshed)


@once
def _deployment() -> tuple[str, datetime]:
    """A digest of the code that renders pages, and when it last changed: a new deployment asks
    for new keys. Contents, not times, so nodes with the same code share entries."""
    digest, newest = hashlib.sha256(), 0.0
    for folder, pattern in (("templates", "**/*.html"), ("feedback_app", "**/*.py"), ("feedback_app", "**/*.mo")):
        for path in sorted((_ROOT / folder).glob(pattern)):
            digest.update(str(path.relative_to(_ROOT)).encode())
            digest.update(path.read_bytes())
            newest = max(newest, path.stat().st_mtime)
    return digest.hexdigest()[:16], datetime.fromtimestamp(int(newest), UTC)


def _key(on: str, *parts: object) -> str:
    version = _version(on)
    raw = "\x1f".join(map(str, (on, version.tag, get_locale(), _deployment()[0], *parts)))
    return keys.digest(raw)


# --- the store, and what happens when it fails ------------------------------------------------


def _store(app: Flask):
    if _DOWN in app.extensions[_DOWN_UNTIL]:
        return app.extensions[_FALLBACK]
    return cache.cache


def _failed(app: Flask, error: Exception) -> None:
    if _DOWN not in app.extensions[_DOWN_UNTIL]:
        app.logger.error(
            "Public pages' cache failed (%s): using this process's memory for %ss.",
            type(error).__name__,
            app.config.get("CACHE_RETRY_SECONDS", 30),
        )
    app.extensions[_DOWN_UNTIL][_DOWN] = True


def _get(key: str) -> bytes | None:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        return _store(app).get(key)
    except _STORE_ERRORS as error:
        _failed(app, error)
        return None


def _set(key: str, value: bytes) -> None:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        _store(app).set(key, value)
    except _STORE_ERRORS as error:  # the page is sent all the same
        _failed(app, error)


# --- pieces of a page ---------------------------------------------------------------------------


def fragment(name: str, *key: object, render: Callable[[], str], on: str = "public") -> Markup:
    """`render()` once per version, language and `key`, then from the cache. What it renders
    must be the same for every visitor: no CSRF token, no name, nothing from the session."""
    cache_key = "fragment:" + _key(on, name, *key)
    stored = _get(cache_key)
    if stored is not None:
        html = stored.decode()
    else:
        html = str(render())
        _set(cache_key, html.encode())
    return Markup(html)  # nosec B704 - the output of our own autoescaping templates


# --- whole pages ----------------------------------------------------------------------------

# What a session may hold for its page to be the one every visitor gets, but for the CSRF token
# (a hole in the stored page, filled per visitor): the token, and Flask-Login's "_fresh" mark,
# which it writes into a visitor's session that is not theirs by its identifier (no one signed
# in, nothing shown). A signed-in person (_user_id), a flash message (_flashes) or anything else
# makes the page theirs alone.
_SHARED_SESSION_KEYS = frozenset({"csrf_token", "_fresh"})


def _shareable_request() -> bool:
    """Nothing that makes the page someone's own: no remember-me cookie, and a session (if any)
    that holds at most a CSRF token."""
    if request.method not in ("GET", "HEAD"):
        return False
    if current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies:
        return False
    return set(session.keys()) <= _SHARED_SESSION_KEYS


def _csrf_hole() -> str:
    # Stands for the visitor's CSRF token in a stored page: the same on every node (from the
    # key), and nothing a resident could type into a view to have it replaced.
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return "csrf-" + keys.keyed_hash(secret, "public-cache", "csrf hole")[:32]


def _render_with_hole(view: Callable, args: tuple, kwargs: dict):
    """The page rendered with a hole where the visitor's CSRF token goes: Flask-WTF's
    generate_csrf answers from `g` when a token is there, so the session is not touched."""
    field = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    setattr(g, field, _csrf_hole())
    try:
        return make_response(view(*args, **kwargs))
    finally:
        g.pop(field, None)


def _filled(body: bytes) -> bytes:
    """`body` with the visitor's own CSRF token in its holes (made now, in their session)."""
    hole = _csrf_hole().encode()
    return body.replace(hole, generate_csrf().encode()) if hole in body else body


def _shareable_response(response) -> bool:
    cache_control = response.headers.get("Cache-Control", "")
    return (
        response.status_code == 200
        and not response.direct_passthrough
        and "Set-Cookie" not in response.headers
        and not session.modified
        and "private" not in cache_control
        and "no-store" not in cache_control
    )


def _sent_privately(response):
    response.vary.add("Cookie")
    if not session.get("_user_id") and "Cache-Control" not in response.headers:
        # Signed in, web/security.py makes it no-store; otherwise a browser may keep it, no proxy.
        response.headers["Cache-Control"] = "private, no-cache"
    return response


def _with_validators(response, etag: str, modified: datetime | None):
    response.set_etag(etag)
    if modified is not None:
        response.last_modified = max(modified, _deployment()[1])
    response.headers["Cache-Control"] = "no-cache"  # may be kept, but asked about each time
    response.vary.update(("Cookie", "Accept-Language"))
    return response


def public_page(on: str = "public") -> Callable:
    """Serve a public GET page from the cache when nothing in it is per visitor but a CSRF token
    (module doc)."""
    if on not in KINDS:
        raise ValueError(f"public_page(on=...) is one of {KINDS}, not {on!r}")

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not _shareable_request():
                return _sent_privately(make_response(view(*args, **kwargs)))
            key = _key(on, "page", request.host_url, request.path, request.query_string)
            etag, modified = key[:32], _version(on).modified
            last_modified = max(modified, _deployment()[1]) if modified is not None else None
            if not is_resource_modified(request.environ, etag=etag, last_modified=last_modified):
                return _with_validators(current_app.response_class(status=304), etag, modified)
            stored = _get("page:" + key)
            if stored is None:
                response = _render_with_hole(view, args, kwargs)
                if not _shareable_response(response):
                    response.set_data(_filled(response.get_data()))
                    return _sent_privately(response)
                stored = response.content_type.encode() + b"\n" + response.get_data()
                _set("page:" + key, stored)
            content_type, _, body = stored.partition(b"\n")
            page = current_app.response_class(body, content_type=content_type.decode())
            if _csrf_hole().encode() in body:  # the page carries a form: this visitor's alone
                page.set_data(_filled(body))
                return _sent_privately(page)
            return _with_validators(page, etag, modified)

        return wrapper

    return decorate
