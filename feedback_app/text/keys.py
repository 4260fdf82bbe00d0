"""Keyed hashes and random tokens: the one place that makes them, so that each is made one way.

Pure: the caller passes the key (the app's secret key, `current_app.secret_key`). Stored values
depend on every detail here — the purpose prefix, HMAC-SHA256, hex or URL-safe base64 without
padding, truncation — so changing any of them orphans what is stored: hashes stop verifying and
links stop working. Add a new purpose rather than change an old one.

Purposes in use: "client-address" (abuse.client_hash), "enrolment-link" (auth.enrolment),
"tracking" (the tracking token a submission form derives, intake.services), "support"
(campaigns.support); the mail's "mail-tracking", "mail-confirm", "mail-unsubscribe" (mail.links)
and "mail-address" (mail.outbox.address_hash).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

# secrets.token_urlsafe(32): 32 random bytes, 43 URL-safe base64 characters.
TOKEN_BYTES = 32


def _key_bytes(key: str | bytes) -> bytes:
    return key.encode() if isinstance(key, str) else key


def _mac(key: str | bytes, purpose: str, value: str) -> hmac.HMAC:
    return hmac.new(_key_bytes(key), purpose.encode() + b":" + value.encode(), hashlib.sha256)


def keyed_hash(key: str | bytes, purpose: str, value: str) -> str:
    """HMAC-SHA256 of "<purpose>:<value>" under `key`, in hex (64 characters). The purpose keeps a
    hash made for one use from ever standing in for another."""
    return _mac(key, purpose, value).hexdigest()


def derived_token(key: str | bytes, purpose: str, value: str) -> str:
    """A token derived from `value` that nobody without the key can derive: the same HMAC in
    URL-safe base64 without padding (43 characters)."""
    return base64.urlsafe_b64encode(_mac(key, purpose, value).digest()).rstrip(b"=").decode()


def digest(value: str) -> str:
    """SHA-256 in hex, unkeyed: for values that are secrets already (random tokens, recovery
    codes) or that need no secrecy (a fingerprint of what a form sent)."""
    return hashlib.sha256(value.encode()).hexdigest()


def equal(a: str, b: str) -> bool:
    """Compared in constant time, so timing tells nothing about how much of a secret matched.
    As UTF-8 bytes: a token typed into a URL may hold any character (compare_digest refuses
    non-ASCII text)."""
    return hmac.compare_digest(a.encode(), b.encode())


def signature(key: bytes, value: bytes) -> bytes:
    """HMAC-SHA256 of raw bytes under `key` (32 bytes): signs what is kept outside the app, such
    as the public pages' cache entries in Redis."""
    return hmac.new(key, value, hashlib.sha256).digest()


def same_bytes(a: bytes, b: bytes) -> bool:
    """`equal` for raw bytes (a signature read back)."""
    return hmac.compare_digest(a, b)


def new_token(nbytes: int = TOKEN_BYTES) -> str:
    """`nbytes` random bytes in URL-safe base64 without padding."""
    return secrets.token_urlsafe(nbytes)


def token_pattern(nbytes: int = TOKEN_BYTES) -> re.Pattern[str]:
    """What new_token(nbytes) looks like, to refuse anything else before looking it up."""
    return re.compile(f"[A-Za-z0-9_-]{{{-(-nbytes * 4 // 3)}}}")


def random_choice(alphabet: str, length: int) -> str:
    """`length` characters drawn from `alphabet` by the system's secure random source."""
    return "".join(secrets.choice(alphabet) for _ in range(length))
