"""Open data: published views and answers, and the statistics, to download; the data dictionary
and its machine-readable twin (a Frictionless Data Package).

The files are streamed as they are read (kernel/open_data.py) and carry an ETag and a
Last-Modified: the public version (kernel/public.py, moved in the transaction of every change the
public sees) for the views, the statistics' last refresh for the statistics. A repeated download
with If-None-Match or If-Modified-Since is a 304 without a row read.

The licence is the operator's choice (settings OPEN_DATA_LICENCE_NAME, _TITLE, _URL); the
platform proposes Creative Commons Attribution 4.0.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from flask import Response, current_app, render_template, request, stream_with_context, url_for
from flask_babel import force_locale
from werkzeug.http import is_resource_modified

from ..extensions import limiter
from ..kernel import catalogue, open_data, public
from ..web.i18n import in_reading_order
from . import bp

# A file's layout: moved by hand whenever a file's columns change, so no cache keeps the old one.
LAYOUT = 1
CSV = "text/csv; charset=utf-8"
JSON = "application/json"
# Stored by any cache, always asked again: the ETag makes asking cheap, and nothing stale is served.
CACHE_CONTROL = "public, no-cache"


def licence() -> dict[str, str]:
    """The licence the operator publishes the data under: name (an SPDX id), title, URL."""
    config = current_app.config
    return {part: config[f"OPEN_DATA_LICENCE_{part.upper()}"] for part in ("name", "title", "url")}


# --- conditional requests ----------------------------------------------------------------------


def _validators(response: Response, etag: str, modified: datetime) -> Response:
    response.set_etag(etag)
    response.last_modified = modified
    response.headers["Cache-Control"] = CACHE_CONTROL
    return response


def _current(etag: str, modified: datetime) -> bool:
    """Whether the client's copy is current: If-None-Match first (RFC 9110), else
    If-Modified-Since, to the second (werkzeug's reading, as web/public_cache.py asks it)."""
    return not is_resource_modified(request.environ, etag=etag, last_modified=modified)


def conditional(etag: str, modified: datetime, build: Callable[[], Response]) -> Response:
    """`build()`'s response with its validators, or a 304 without calling it (nothing is read)."""
    modified = modified.astimezone(UTC).replace(microsecond=0)
    return _validators(Response(status=304) if _current(etag, modified) else build(), etag, modified)


def _download(etag: str, modified: datetime, name: str, content_type: str, chunks: Callable[[], Iterator[str]]):
    def build() -> Response:
        response = Response(stream_with_context(chunks()), content_type=content_type)
        response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    return conditional(etag, modified, build)


def _views_validators() -> tuple[str, datetime]:
    state = public.state()
    return f"views-{LAYOUT}-{state.version}", state.changed_at


def _statistics_validators() -> tuple[str, datetime]:
    refreshed = public.state().stats_refreshed_at
    if refreshed is None:  # never refreshed: no rows yet; the first refresh moves it on
        return f"statistics-{LAYOUT}-none", datetime(2020, 1, 1, tzinfo=UTC)
    return f"statistics-{LAYOUT}-{refreshed.timestamp():.6f}", refreshed


# --- the files ---------------------------------------------------------------------------------


def _download_limit() -> str:
    return current_app.config["OPEN_DATA_RATE_LIMIT"]


def _sent_in_full(response: Response) -> bool:
    return response.status_code == 200  # a 304 costs a row of nothing: never counted


# A million views take minutes of masking to write out: each address may ask for the whole views
# (CSV and JSON together) a few times an hour; checking for a new version with the ETag is free.
download_limit = limiter.shared_limit(_download_limit, scope="open-data-views", deduct_when=_sent_in_full)


@bp.get("/open-data/views.csv")
@download_limit
def views_csv():
    etag, modified = _views_validators()
    return _download(etag, modified, "views.csv", CSV, lambda: open_data.views_csv(open_data.views()))


@bp.get("/open-data/views.json")
@download_limit
def views_json():
    etag, modified = _views_validators()
    return _download(etag, modified, "views.json", JSON, lambda: open_data.views_json(open_data.views()))


@bp.get("/open-data/statistics.csv")
def statistics_csv():
    etag, modified = _statistics_validators()
    return _download(
        etag, modified, "statistics.csv", CSV, lambda: open_data.statistics_csv(open_data.statistics_rows())
    )


@bp.get("/open-data/distributions.csv")
def distributions_csv():
    etag, modified = _statistics_validators()
    return _download(
        "distributions-" + etag,
        modified,
        "distributions.csv",
        CSV,
        lambda: open_data.distributions_csv(open_data.distribution_rows()),
    )


def _schema(fields: tuple[open_data.Field, ...], key: tuple[str, ...], **extra: Any) -> dict[str, Any]:
    return {
        "fields": [
            {
                "name": f.name,
                "type": f.type,
                "description": str(f.description),
                **({"constraints": dict(f.constraints)} if f.constraints else {}),
            }
            for f in fields
        ],
        "primaryKey": list(key),
        **extra,
    }


def package() -> dict[str, Any]:
    """The Frictionless Data Package (https://specs.frictionlessdata.io/data-package/) that
    describes the four files, in English (field names and codes are English in every file)."""
    state = public.state()
    views_modified = state.changed_at.astimezone(UTC).replace(microsecond=0).isoformat()
    stats_modified = (state.stats_refreshed_at or state.changed_at).astimezone(UTC).replace(microsecond=0).isoformat()
    chosen = licence()
    with force_locale("en"):
        csv_dialect = {
            "delimiter": ",",
            "lineTerminator": "\r\n",
            "quoteChar": '"',
            "doubleQuote": True,
            "header": True,
        }
        answer_note = "; ".join(f"{f.name} ({f.type}): {f.description}" for f in open_data.ANSWER_FIELDS)
        json_fields = _schema(open_data.VIEWS_JSON_FIELDS, ("reference",))
        for described in json_fields["fields"]:
            if described["name"] == "answers":
                described["description"] += f" Fields: {answer_note}"
        return {
            "profile": "tabular-data-package",
            "name": "smart-city-blueprint-feedback",
            "title": "Hong Kong Smart City Blueprint 2.0: public views, answers and statistics",
            "description": (
                "The views residents sent on the Smart City Blueprint 2.0 that moderators published, with the "
                "bureaus' answers (personal data masked), and the platform's monthly statistics."
            ),
            "homepage": url_for("public.open_data", _external=True),
            "created": max(views_modified, stats_modified),
            "licenses": [{"name": chosen["name"], "title": chosen["title"], "path": chosen["url"]}],
            "resources": [
                {
                    "name": "views-csv",
                    "path": "views.csv",
                    "profile": "tabular-data-resource",
                    "format": "csv",
                    "mediatype": "text/csv",
                    "encoding": "utf-8-sig",
                    "description": (
                        "Every published view with its answers, one row a view. UTF-8 with a byte order mark. "
                        "A text cell that a spreadsheet would read as a formula (starting with =, +, -, @, a tab or "
                        "a carriage return) starts with an added apostrophe (')."
                    ),
                    "dialect": csv_dialect,
                    "schema": _schema(open_data.VIEWS_CSV_FIELDS, ("reference",)),
                    "last_modified": views_modified,
                },
                {
                    "name": "views-json",
                    "path": "views.json",
                    "profile": "tabular-data-resource",
                    "format": "json",
                    "mediatype": "application/json",
                    "encoding": "utf-8",
                    "description": "The same views as views.csv, as one JSON array of objects, answers as arrays.",
                    "schema": json_fields,
                    "last_modified": views_modified,
                },
                {
                    "name": "statistics",
                    "path": "statistics.csv",
                    "profile": "tabular-data-resource",
                    "format": "csv",
                    "mediatype": "text/csv",
                    "encoding": "utf-8-sig",
                    "description": (
                        "The statistics page's figures: for each month, smart area and bureau, how many views "
                        "were received, published, hidden, rejected (by reason), routed and answered."
                    ),
                    "dialect": csv_dialect,
                    # An empty bureau is a value (not routed), not a missing one.
                    "schema": _schema(open_data.STATISTICS_FIELDS, open_data.STATISTICS_KEY, missingValues=[]),
                    "last_modified": stats_modified,
                },
                {
                    "name": "distributions",
                    "path": "distributions.csv",
                    "profile": "tabular-data-resource",
                    "format": "csv",
                    "mediatype": "text/csv",
                    "encoding": "utf-8-sig",
                    "description": (
                        "What the statistics page's medians and campaign sizes are read from: for each month, how "
                        "many views took each whole number of days from routing to their bureau's first answer "
                        "(per bureau), and how many campaigns had each number of copies."
                    ),
                    "dialect": csv_dialect,
                    "schema": _schema(open_data.DISTRIBUTION_FIELDS, open_data.DISTRIBUTION_KEY, missingValues=[]),
                    "last_modified": stats_modified,
                },
            ],
        }


@bp.get("/open-data/datapackage.json")
def datapackage():
    state = public.state()
    stats = state.stats_refreshed_at.timestamp() if state.stats_refreshed_at else 0
    etag = f"package-{LAYOUT}-{state.version}-{stats:.6f}-{zlib.crc32(repr(sorted(licence().items())).encode()):x}"
    modified = max(state.changed_at, state.stats_refreshed_at or state.changed_at)
    return conditional(etag, modified, lambda: current_app.json.response(package()))


# --- the data dictionary -------------------------------------------------------------------------


@bp.get("/open-data", endpoint="open_data")
def data_dictionary():
    state = public.state()
    views, statistics = open_data.rows(state)
    return render_template(
        "public/open_data.html",
        state=state,
        views_rows=views,
        statistics_rows=statistics,
        licence=licence(),
        csv_fields=open_data.VIEWS_CSV_FIELDS,
        json_fields=open_data.VIEWS_JSON_FIELDS,
        answer_fields=open_data.ANSWER_FIELDS,
        statistics_fields=open_data.STATISTICS_FIELDS,
        distribution_fields=open_data.DISTRIBUTION_FIELDS,
        bureaus=in_reading_order(catalogue.list_bureaus(), "name"),
    )
