from flask import abort, current_app, make_response, redirect, render_template, request, url_for

from ..i18n import LANGUAGE_COOKIE
from .. import workflow
from ..intake import services as intake
from ..urls import safe_next
from . import bp


@bp.get("/track/<reference>/<token>")
def track(reference, token):
    sub = intake.find_tracked(reference, token) or abort(404)
    response = make_response(
        render_template(
            "public/track.html", sub=sub, history=workflow.history(sub), is_new=request.args.get("new") == "1"
        )
    )
    # The secret link must not leak to other sites or caches.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/privacy")
def privacy():
    return render_template("public/privacy.html")


@bp.get("/language/<code>")
def set_language(code):
    if code not in current_app.config["LANGUAGES"]:
        abort(404)
    response = redirect(safe_next(request.args.get("next")) or url_for("catalogue.home"))
    response.set_cookie(LANGUAGE_COOKIE, code, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    return response


@bp.get("/favicon.ico")
def favicon():
    # Browsers ask for it at the root on every page, whatever the page's <link> says.
    return current_app.send_static_file("favicon.ico")
