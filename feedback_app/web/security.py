"""What every request and response goes through: proxy trust, size limits, security headers."""

from __future__ import annotations

import io

from flask import Flask, Request, current_app, g, request, session
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.formparser import FormDataParser
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.utils import cached_property

CONTENT_SECURITY_POLICY = "; ".join(
    [
        # Pages load only our own stylesheet; there is no script, inline style or frame anywhere.
        "default-src 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "object-src 'none'",
        "form-action 'self'",
    ]
)
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
HSTS = "max-age=31536000"

# Blueprints whose pages exist only for signed-in people: staff work and account settings. Any
# page under them, and any page shown to a signed-in person, is never stored by a browser or
# proxy, so a new staff page cannot forget it.
PRIVATE_BLUEPRINTS = frozenset({"auth", "moderation", "bureau", "admin", "account"})


class _FormParser(FormDataParser):
    # Werkzeug applies MAX_FORM_PARTS to multipart bodies only; a url-encoded body of 10,000
    # fields would be parsed in full. Count its fields before parsing (in parse(), the parser's
    # public entry point; the method for each mimetype is Werkzeug's own business).
    def parse(self, stream, mimetype, content_length, options=None):
        if mimetype == "application/x-www-form-urlencoded" and self.max_form_parts is not None:
            body = stream.read()
            if body.count(b"&") + 1 > self.max_form_parts:
                raise RequestEntityTooLarge()
            stream = io.BytesIO(body)
        return super().parse(stream, mimetype, content_length, options)


def _read_at_most(stream, limit: int) -> bytes:
    """The whole of `stream`, or RequestEntityTooLarge as soon as it is longer than `limit`."""
    body = bytearray()
    while len(body) <= limit:
        chunk = stream.read(min(64 * 1024, limit + 1 - len(body)))
        if not chunk:
            return bytes(body)
        body += chunk
    raise RequestEntityTooLarge()


class LimitedRequest(Request):
    form_data_parser_class = _FormParser

    @cached_property
    def stream(self):
        # A chunked body has no Content-Length to refuse before reading. Werkzeug caps the
        # stream at MAX_CONTENT_LENGTH when the server ends it (gunicorn does), but a read of
        # the whole stream stops quietly at the cap: the form, the first megabyte of it, would
        # be parsed as if it were all. Read it here, up to one byte past the limit, and refuse.
        limit = self.max_content_length
        if self.content_length is None and self.environ.get("wsgi.input_terminated") and limit is not None:
            return io.BytesIO(_read_at_most(self.environ["wsgi.input"], limit))
        return super().stream


def register(app: Flask) -> None:
    trusted = int(app.config.get("TRUSTED_PROXIES", 0))
    if trusted < 0:
        raise ValueError("TRUSTED_PROXIES must be 0 or the number of proxies in front of the app")
    if trusted:
        # Only the client address and scheme are taken from the proxies: they set them on every
        # request. The Host header is passed through by load balancers, and trusting a
        # client-supplied X-Forwarded-Host would let a client choose the links the app builds.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=trusted, x_proto=trusted)
    app.request_class = LimitedRequest
    app.after_request(add_security_headers)


def _is_private() -> bool:
    if request.method not in ("GET", "HEAD"):
        return True  # a form shown again holds the name, e-mail and text that were typed
    if request.blueprint in PRIVATE_BLUEPRINTS:
        return True
    user = g.get("_login_user")
    if user is not None:
        return bool(user.is_authenticated)
    # The user was not loaded for this response; the session says whether someone is signed in
    # without a database query (this also runs on error pages when the database is down).
    return bool(session.get("_user_id"))


def add_security_headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")  # a page may ask for less (the tracking page)
    headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if current_app.config.get("SESSION_COOKIE_SECURE"):
        headers.setdefault("Strict-Transport-Security", HSTS)
    if request.endpoint != "static" and _is_private() and not _kept_private(headers.get("Cache-Control", "")):
        headers["Cache-Control"] = "no-store"
    return response


def _kept_private(cache_control: str) -> bool:
    # A view that chose a private policy itself keeps it (the submission form is "private,
    # no-cache" so that Back shows the very form, one-time token and all, again).
    directives = {part.strip().lower() for part in cache_control.split(",")}
    return bool(directives & {"no-store", "private"})
