from flask import abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..campaigns import support
from ..extensions import limiter
from ..kernel import public
from ..web.forms import CONTROL_CHARACTERS
from ..web.i18n import remember_language
from ..web.public_cache import public_page
from ..web.urls import safe_next
from . import bp, services

# A draft shorter than this says too little to be like anything.
SIMILAR_MIN_LENGTH = 30


@bp.app_context_processor
def similar_views_settings():
    # The submission form hands it to similar.js (data-min-length), which asks for no shorter draft.
    return {"SIMILAR_MIN_LENGTH": SIMILAR_MIN_LENGTH}


@bp.get("/privacy")
def privacy():
    return render_template("public/privacy.html")


@bp.get("/language/<code>")
def set_language(code):
    if code not in current_app.config["LANGUAGES"]:
        abort(404)
    response = redirect(safe_next(request.args.get("next")) or url_for("catalogue.home"))
    remember_language(response, code)
    return response


@bp.get("/favicon.ico")
def favicon():
    # Browsers ask for it at the root on every page, whatever the page's <link> says.
    return current_app.send_static_file("favicon.ico")


@bp.get("/views/<reference>")
@public_page(on="public")
def view(reference):
    # The support form's CSRF token is filled in for each visitor (web/public_cache.py).
    return render_template("public/view.html", view=public.view(reference) or abort(404))


def _supporter(response) -> tuple[str, tuple[str, ...]]:
    """Who is supporting (a keyed hash), and who else they were before: signed in, the account,
    and the device's support from before signing in counts as theirs; otherwise the device,
    given its random token in a cookie on `response` the first time."""
    token = request.cookies.get(support.DEVICE_COOKIE)
    device = support.supporter_hash(device_token=token) if support.is_device_token(token) else None
    if current_user.is_authenticated:
        return support.supporter_hash(user_id=current_user.id), (device,) if device else ()
    if device is None:
        token = support.new_device_token()
        response.set_cookie(
            support.DEVICE_COOKIE,
            token,
            max_age=support.DEVICE_COOKIE_DAYS * 24 * 3600,
            httponly=True,
            samesite="Lax",
            secure=current_app.config["SESSION_COOKIE_SECURE"],
        )
        device = support.supporter_hash(device_token=token)
    return device, ()


@bp.post("/views/<reference>/support")
@limiter.limit(lambda: current_app.config["SUPPORT_RATE_LIMIT"])
def add_support(reference):
    view = public.view(reference) or abort(404)
    response = redirect(url_for("public.view", reference=view.reference))
    supporter, also = _supporter(response)
    if support.add(view, supporter, also=also):
        flash(_("Thank you: your support is counted."), "success")
    else:
        flash(_("You had already supported this view. Each person or device is counted once."), "info")
    return response


@bp.post("/views/similar")
@limiter.limit(lambda: current_app.config["SIMILAR_VIEWS_RATE_LIMIT"])
def similar():
    """Published views like the draft being typed, as a fragment of the submission form's page
    (similar.js). A POST, so that a draft never lands in a URL or an access log."""
    draft = CONTROL_CHARACTERS.sub(" ", request.form.get("text", ""))[: current_app.config["SUBMISSION_MAX_LENGTH"]]
    found = services.similar_published(draft) if len(draft.strip()) >= SIMILAR_MIN_LENGTH else []
    response = make_response(render_template("public/_similar.html", found=found))
    response.headers["Cache-Control"] = "private, no-store"
    return response
