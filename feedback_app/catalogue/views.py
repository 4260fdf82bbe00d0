from flask import abort, current_app, render_template, request

from ..kernel import catalogue as services
from ..kernel import public
from ..web.i18n import in_reading_order, reading_key
from ..web.pagination import parse_after, parse_page
from ..web.public_cache import public_page
from . import bp


@bp.get("/")
@public_page(on="public")
def home():
    return render_template("catalogue/home.html", areas=services.list_areas(), counts=services.initiative_counts())


@bp.get("/areas/<code>")
@public_page(on="public")
def area(code):
    area = services.get_area(code) or abort(404)
    q = request.args.get("q", "").strip()[:100]
    page = services.search_initiatives(
        area=code, text=q, page=parse_page(request.args.get("page")), sort_key=reading_key("title")
    )
    return render_template("catalogue/area.html", area=area, page=page, q=q)


@bp.get("/initiatives")
@public_page(on="public")
def initiatives():
    q = request.args.get("q", "").strip()[:100]
    area = request.args.get("area") or None
    bureau = request.args.get("bureau") or None
    page = services.search_initiatives(
        area=area,
        bureau=bureau,
        text=q,
        page=parse_page(request.args.get("page")),
        sort_key=reading_key("title"),
    )
    return render_template(
        "catalogue/initiatives.html",
        page=page,
        q=q,
        area=area,
        bureau=bureau,
        areas=services.list_areas(),
        bureaus=in_reading_order(services.list_bureaus(), "name"),
    )


@bp.get("/initiatives/<code>")
@public_page(on="public")
def initiative(code):
    initiative = services.get_initiative(code) or abort(404)
    views = public.views_on(
        initiative.id, after=parse_after(request.args.get("after")), size=current_app.config["PAGE_SIZE"]
    )
    return render_template(
        "catalogue/initiative.html", initiative=initiative, views=views, tally=public.tally(initiative.id)
    )


@bp.get("/bureaus")
@public_page(on="public")
def bureaus():
    return render_template("catalogue/bureaus.html", bureaus=in_reading_order(services.list_bureaus(), "name"))
