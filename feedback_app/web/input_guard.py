"""Checks on what arrives in the URL before any view or query sees it.

Two kinds of bad input used to reach the database and come back as a 500:
- ids that do not fit the id columns (INTEGER: 2**31 - 1 on PostgreSQL; SQLite refuses
  anything past 64 bits), from URLs and from `?after=`. Every id is parsed by `parse_id`,
  which takes ASCII digits only ("²".isdigit() and "١".isdigit() are both true) and nothing
  above `MAX_ID`; an id that fails is a 404 in a path and a 400 in a query string.
- NUL bytes: PostgreSQL refuses them in any text parameter. Forms refuse control characters
  themselves (feedback_app.web.forms.Form) so the resident keeps what they typed; the path and
  the query string are checked here, before any view runs.

Headers are not checked: the only ones the app reads are the `lang` cookie (compared with the
configured languages) and Accept-Language (matched by werkzeug against a fixed list).
"""

from __future__ import annotations

import re

from flask import Flask, request
from flask_babel import lazy_gettext as _l
from werkzeug.routing import IntegerConverter

from .errors import error_page
from .forms import CONTROL_CHARACTERS

MAX_ID = 2**31 - 1  # the id columns are INTEGER; the smallest range of the two databases

_ASCII_DIGITS = re.compile(r"[0-9]{1,10}")
# No path on this site has a control character in it, not even a tab or a newline; query
# values follow the forms' rule (a search box may carry what was pasted into it).
_PATH_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


def parse_id(value: str | None) -> int | None:
    """The id in `value`, or None when it is not one (empty, not ASCII digits, out of range)."""
    if value is None or not _ASCII_DIGITS.fullmatch(value):
        return None
    number = int(value)
    return number if 1 <= number <= MAX_ID else None


class IdConverter(IntegerConverter):
    """`<id:name>` in a route: an id that fits the column, or the route does not match (404)."""

    regex = r"[0-9]+"

    def __init__(self, map, fixed_digits: int = 0, min: int | None = 1, max: int | None = MAX_ID, signed: bool = False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def refuse_control_characters():
    if _PATH_CONTROL_CHARACTERS.search(request.path) or any(
        CONTROL_CHARACTERS.search(key) or CONTROL_CHARACTERS.search(value)
        for key, value in request.args.items(multi=True)
    ):
        return error_page(
            400,
            _l("This address contains invisible control characters"),
            _l("The link may have been damaged when it was copied. Please go back, or type the address again."),
        )
    return None


def register(app: Flask) -> None:
    # Before the blueprints: a converter is looked up when a rule is added.
    app.url_map.converters["id"] = IdConverter
    # A route written with the stock `<int:...>` is bounded the same way, so a new page
    # cannot bring back the overflow by using the familiar name.
    app.url_map.converters["int"] = IdConverter
    app.before_request(refuse_control_characters)
