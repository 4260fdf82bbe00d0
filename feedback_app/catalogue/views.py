from flask import abort, current_app, render_template, request
from flask_babel import gettext as _
from markupsafe import Markup

from ..kernel import catalogue as services
from ..kernel import public
from ..web.i18n import in_reading_order, reading_key
from ..web.pagination import parse_after, parse_page
from ..web.public_cache import fragment, public_page
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
    views = _published_views(
        public.Scope.area(code), _("No general views on this area have been published yet. Yours could be the first.")
    )
    return render_template("catalogue/area.html", area=area, page=page, q=q, published_views=views)


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
    views = _published_views(
        public.Scope.initiative(initiative.id),
        _("No views on this initiative have been published yet. Yours could be the first."),
    )
    return render_template("catalogue/initiative.html", initiative=initiative, published_views=views)


def _published_views(scope: public.Scope, empty: str) -> Markup:
    """The scope's published views and answers with their pager, the same for every visitor:
    rendered once per public version, language and page (the page's own links keep its other
    arguments, so its whole query string is in the key)."""
    after = parse_after(request.args.get("after"))

    def render() -> str:
        views = public.views_on(scope, after=after, size=current_app.config["PAGE_SIZE"])
        return render_template(
            "catalogue/_published_views.html",
            views=views,
            tally=public.tally(scope) if views.items else None,
            empty=empty,
            endpoint=request.endpoint,
        )

    return fragment("published-views", scope, request.path, request.query_string, render=render)


@bp.get("/bureaus")
@public_page(on="public")
def bureaus():
    return render_template("catalogue/bureaus.html", bureaus=in_reading_order(services.list_bureaus(), "name"))
