"""The inbox's current tab and filters, downloaded as CSV or JSON (export.py writes the rows)."""

from collections.abc import Iterator

from flask import Response, abort, current_app, request, stream_with_context
from flask_login import current_user

from ..auth.login import role_required
from ..extensions import limiter
from ..kernel.deadlines import HONG_KONG
from ..kernel.models import Role
from . import bp, export, services
from .views import _filter_form, _filters, _tab

CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json"}


def _limit() -> str:
    return current_app.config["EXPORT_RATE_LIMIT"]


def _per_officer() -> str:
    return f"bureau-export:{current_user.get_id()}"


@bp.get("/export.csv")
@role_required(Role.OFFICER)
@limiter.limit(_limit, key_func=_per_officer)
def export_csv():
    return _export("csv")


@bp.get("/export.json")
@role_required(Role.OFFICER)
@limiter.limit(_limit, key_func=_per_officer)
def export_json():
    return _export("json")


def _export(kind: str) -> Response:
    bureau, officer_id = current_user.bureau_code, current_user.id
    if not bureau:
        abort(403)  # an officer account not yet given a bureau has no views
    tab = _tab()
    form = _filter_form()
    if not form.validate():
        abort(400)  # the inbox page shows which filter is wrong; a link or a script got here
    filters = _filters(form, tab)
    personal = request.args.get("personal") == "1"
    now = services.now()
    total = export.count(filters, bureau, officer_id, now=now)
    cut = total > export.MAX_ROWS
    export.record_export(
        current_user, kind=kind, filters=filters, personal=personal, rows=min(total, export.MAX_ROWS), cut=cut
    )

    rows = export.records(filters, bureau, officer_id, now=now, personal=personal)
    chunks: Iterator[str] = (
        export.csv_chunks(rows, personal=personal, cut=cut)
        if kind == "csv"
        else export.json_chunks(rows, personal=personal)
    )
    stamp = now.astimezone(HONG_KONG).strftime("%Y%m%d-%H%M")
    first = f"-first-{export.MAX_ROWS}" if cut else ""
    name = f"{bureau}-views-{stamp}{first}.{kind}"
    response = Response(stream_with_context(chunks), content_type=CONTENT_TYPES[kind])
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"  # the text of views, perhaps names: never kept on the way
    response.headers["X-Export-Rows"] = str(min(total, export.MAX_ROWS))
    if cut:
        response.headers["X-Export-Cut"] = str(export.MAX_ROWS)
    return response
