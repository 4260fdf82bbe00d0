"""The links a message carries, derived from the app's secret key so that none is stored.

- the tracking link of a view (`/track/<reference>/<token>`): a second token for the same page,
  derived from the view's stored tracking-token hash, since the token itself is kept nowhere;
- the link that confirms updates by e-mail on a view;
- the one-click unsubscribe link of a message (RFC 8058), which names the message, not the address.

Each is checked in constant time against every key in SECRET_KEY_FALLBACKS too, so mail sent
before a key rotation keeps working while the old key is kept there.
"""

from __future__ import annotations

from flask import current_app

from ..kernel.models import OutboxMessage, Submission
from ..text import keys


def _keys() -> list[str | bytes]:
    return [current_app.secret_key, *(current_app.config.get("SECRET_KEY_FALLBACKS") or [])]


def _matches(token: str, purpose: str, value: str) -> bool:
    return any(keys.equal(token, keys.derived_token(key, purpose, value)) for key in _keys())


def tracking_token(sub: Submission) -> str:
    return keys.derived_token(current_app.secret_key, "mail-tracking", sub.tracking_token_hash)


def opens_tracking(sub: Submission, token: str) -> bool:
    """Whether `token` is the mailed tracking token of `sub` (the form's own is checked by intake)."""
    return _matches(token, "mail-tracking", sub.tracking_token_hash)


def confirm_token(sub: Submission) -> str:
    return keys.derived_token(current_app.secret_key, "mail-confirm", sub.tracking_token_hash)


def confirms(sub: Submission, token: str) -> bool:
    return _matches(token, "mail-confirm", sub.tracking_token_hash)


def unsubscribe_token(message: OutboxMessage) -> str:
    return keys.derived_token(current_app.secret_key, "mail-unsubscribe", f"{message.id}:{message.recipient_hash}")


def unsubscribes(message: OutboxMessage, token: str) -> bool:
    return _matches(token, "mail-unsubscribe", f"{message.id}:{message.recipient_hash}")
