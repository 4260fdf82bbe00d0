"""Where the site may send a person after a form: only back to itself."""

from __future__ import annotations

from urllib.parse import urlsplit

# What a browser drops before reading a URL (WHATWG URL standard): C0 controls and spaces at
# either end, and tabs and newlines anywhere. "/\t/evil.example" is read as "//evil.example".
_STRIPPED_AT_ENDS = "".join(chr(c) for c in range(0x21))
_CONTROL = {chr(c) for c in range(0x20)} | {"\x7f"}


def safe_next(target: str | None) -> str | None:
    """`target` as a path on this site, or None when it could lead anywhere else.

    The check is made on the URL as the browser will read it, not on the raw string: a tab
    or a backslash ("/\\evil.example" is "//evil.example" to a browser) would otherwise
    turn a path into another site. No real link carries control characters, and one in a
    Location header is a server error, so any of them means "go home" instead.
    """
    if not target or any(ch in _CONTROL for ch in target):
        return None
    seen = target.strip(_STRIPPED_AT_ENDS).replace("\\", "/")
    try:
        parts = urlsplit(seen)
    except ValueError:  # e.g. an unbalanced "[" read as an IPv6 host
        return None
    if parts.scheme or parts.netloc or not seen.startswith("/") or seen.startswith("//"):
        return None
    return seen
