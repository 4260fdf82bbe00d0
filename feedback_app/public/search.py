"""Search over published views: words in their published (masked) text, by smart area or
initiative, newest first. What may match, and how much work a request may do, is the public
projection's rule (kernel/public.search); this page parses the form and shows the result."""

from __future__ import annotations

from flask import abort, current_app, render_template, request

from ..kernel import catalogue, public
from ..kernel import search as text_search
from ..web.i18n import in_reading_order
from ..web.pagination import parse_after
from ..web.public_cache import public_page
from . import bp


@bp.get("/views")
@public_page(on="public")
def search():
    q = request.args.get("q", "").strip()[: text_search.MAX_QUERY_LENGTH]
    areas = {a.code: a for a in catalogue.list_areas()}
    initiatives = catalogue.initiative_refs()
    area = request.args.get("area") or None
    initiative_code = request.args.get("initiative") or None
    # The choices come from the form's lists: anything else is a broken or made-up link.
    if (area is not None and area not in areas) or (initiative_code is not None and initiative_code not in initiatives):
        abort(400)
    initiative = initiatives[initiative_code] if initiative_code else None
    after = parse_after(request.args.get("after"))
    scope = public.Scope(initiative_id=initiative.id if initiative else None, area_code=area)
    found = public.search(q, scope, after=after, size=current_app.config["PAGE_SIZE"]) if q else None
    return render_template(
        "public/search.html",
        q=q,
        area=area,
        initiative=initiative,
        found=found,
        areas=list(areas.values()),
        initiatives=in_reading_order(list(initiatives.values()), "title"),
        filtered=bool(area or initiative),
    )
