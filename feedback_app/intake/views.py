from flask import abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from ..catalogue import services as catalogue
from ..extensions import csrf, limiter
from ..i18n import localized
from . import bp, services
from .forms import GENERAL, SubmissionForm


def _submission_limit():
    return current_app.config["SUBMISSION_RATE_LIMIT"]


def _form_for(area, initiative_code):
    form = SubmissionForm()
    initiatives = catalogue.search_initiatives(area=area.code, per_page=1000).items
    form.initiative.choices = [SelectChoice(GENERAL, _("General view on %(area)s", area=localized(area, "name")))] + [
        SelectChoice(i.code, localized(i, "title")) for i in sorted(initiatives, key=lambda i: localized(i, "title"))
    ]
    if not form.is_submitted():
        form.initiative.data = initiative_code or GENERAL
    return form


def _area_and_initiative(endpoint: str, code: str):
    if endpoint == "intake.submit_on_initiative":
        initiative = catalogue.get_initiative(code)
        return (initiative.area, initiative.code) if initiative else (None, None)
    return catalogue.get_area(code), None


def _rate_limited(_limit):
    """Over the limit: the form again, with what was typed and why it was not sent.

    A bare error page would lose the resident's text; returning None falls back to it only
    when the page itself does not exist.
    """
    area, initiative_code = _area_and_initiative(request.endpoint, request.view_args.get("code", ""))
    if area is None:
        return None
    form = _form_for(area, initiative_code)
    page = render_template("intake/submit.html", form=form, area=area, initiative_code=initiative_code, rate_limited=True)
    return make_response(page, 429)


def _handle(area, initiative_code=None):
    form = _form_for(area, initiative_code)
    if form.validate_on_submit():
        initiative = catalogue.get_initiative(form.initiative.data) if form.initiative.data else None
        receipt = services.submit(
            services.NewSubmission(
                body=form.body.data,
                language=str(get_locale()),
                topic_area=area.code,
                initiative_id=initiative.id if initiative else None,
                name=(form.name.data or "").strip() or None,
                email=(form.email.data or "").strip() or None,
            ),
            user=current_user if current_user.is_authenticated else None,
        )
        flash(_("Thank you. Your view has been received."), "success")
        return redirect(url_for("public.track", reference=receipt.reference, token=receipt.tracking_token, new=1))
    status = 400 if form.is_submitted() else 200
    return render_template("intake/submit.html", form=form, area=area, initiative_code=initiative_code), status


# The form checks its own CSRF token, so a stale or missing token is reported on the form,
# with what the resident typed kept, instead of on a bare error page.
@bp.route("/areas/<code>/views/new", methods=["GET", "POST"])
@csrf.exempt
@limiter.limit(_submission_limit, methods=["POST"], on_breach=_rate_limited)
def submit_general(code):
    area = catalogue.get_area(code) or abort(404)
    return _handle(area)


@bp.route("/initiatives/<code>/views/new", methods=["GET", "POST"])
@csrf.exempt
@limiter.limit(_submission_limit, methods=["POST"], on_breach=_rate_limited)
def submit_on_initiative(code):
    initiative = catalogue.get_initiative(code) or abort(404)
    return _handle(initiative.area, initiative.code)
