from flask import abort, render_template, request

from ..campaigns import support
from ..web.pagination import parse_after, parse_page
from ..public import services as public
from . import bp
from ..kernel import catalogue as services


@bp.get("/")
def home():
    return render_template(
        "catalogue/home.html", areas=services.list_areas(), counts=services.initiative_counts()
    )


@bp.get("/areas/<code>")
def area(code):
    area = services.get_area(code) or abort(404)
    q = request.args.get("q", "").strip()[:100]
    page = services.search_initiatives(area=code, text=q, page=parse_page(request.args.get("page")))
    return render_template("catalogue/area.html", area=area, page=page, q=q)


@bp.get("/initiatives")
def initiatives():
    q = request.args.get("q", "").strip()[:100]
    area = request.args.get("area") or None
    bureau = request.args.get("bureau") or None
    page = services.search_initiatives(
        area=area, bureau=bureau, text=q, page=parse_page(request.args.get("page"))
    )
    return render_template(
        "catalogue/initiatives.html", page=page, q=q, area=area, bureau=bureau,
        areas=services.list_areas(), bureaus=services.list_bureaus(),
    )


@bp.get("/initiatives/<code>")
def initiative(code):
    initiative = services.get_initiative(code) or abort(404)
    views = public.published_views(initiative.id, after=parse_after(request.args.get("after")))
    copies = public.published_copies({v.campaign_id for v in views.items if v.campaign_id}, initiative_id=initiative.id)
    return render_template("catalogue/initiative.html", initiative=initiative, views=views, copies=copies,
                           supporters=support.counts(views.items), tally=public.tally(initiative.id))


@bp.get("/bureaus")
def bureaus():
    return render_template("catalogue/bureaus.html", bureaus=services.list_bureaus())
