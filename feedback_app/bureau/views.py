from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..auth.login import role_required
from ..campaigns import support
from ..kernel import workflow
from ..kernel.models import Role
from ..kernel.workflow import TransitionNotAllowed
from ..routing import services as routing
from ..web.pagination import parse_after
from . import bp, services
from .forms import AnswerForm, CloseForm, SendBackForm


@bp.get("/")
@role_required(Role.OFFICER)
def inbox():
    status = request.args.get("status") or "routed"
    if status not in workflow.WITH_A_BUREAU:
        status = "routed"
    page = services.inbox(
        current_user, status=status, after=parse_after(request.args.get("after")), size=current_app.config["PAGE_SIZE"]
    )
    return render_template("bureau/inbox.html", page=page, status=status)


@bp.get("/find")
@role_required(Role.OFFICER)
def find():
    reference = request.args.get("reference", "")
    sub = services.find_visible_by_reference(current_user, reference)
    if sub is None:
        flash(_("None of your bureau's views has the reference “%(reference)s”.", reference=reference.strip()), "error")
        return redirect(url_for(".inbox"))
    return redirect(url_for(".item", sub_id=sub.id))


def _visible_or_404(sub_id):
    try:
        return services.get_visible(current_user, sub_id)
    except services.NotVisible:
        abort(404)


def _render_item(sub, *, answer_form=None, send_back_form=None, close_form=None, status=200):
    return render_template(
        "bureau/item.html",
        sub=sub,
        history=workflow.history(sub),
        explanation=routing.explain(sub),
        support=support.of(sub),
        allowed=workflow.allowed_actions(sub, current_user.role),
        answer_form=answer_form or AnswerForm(formdata=None),
        send_back_form=send_back_form or SendBackForm(formdata=None),
        close_form=close_form or CloseForm(formdata=None),
    ), status


@bp.get("/submissions/<id:sub_id>")
@role_required(Role.OFFICER)
def item(sub_id):
    return _render_item(_visible_or_404(sub_id))


def _act(sub_id, form, form_name, act, done_message, then_inbox=False):
    sub = _visible_or_404(sub_id)
    if not form.validate_on_submit():
        return _render_item(sub, **{form_name: form}, status=400)
    try:
        act()
    except services.NotVisible:
        abort(404)
    except TransitionNotAllowed:
        flash(_("That action is not possible for a view in this state."), "error")
        return redirect(url_for(".item", sub_id=sub_id))
    flash(done_message, "success")
    return redirect(url_for(".inbox") if then_inbox else url_for(".item", sub_id=sub_id))


@bp.post("/submissions/<id:sub_id>/answer")
@role_required(Role.OFFICER)
def answer(sub_id):
    form = AnswerForm()
    return _act(
        sub_id,
        form,
        "answer_form",
        lambda: services.answer(current_user, sub_id, form.body.data),
        _("Your answer is published."),
    )


@bp.post("/submissions/<id:sub_id>/send-back")
@role_required(Role.OFFICER)
def send_back(sub_id):
    form = SendBackForm()
    return _act(
        sub_id,
        form,
        "send_back_form",
        lambda: services.send_back(current_user, sub_id, form.reason.data),
        _("The view was sent back to the moderators for re-routing."),
        then_inbox=True,
    )


@bp.post("/submissions/<id:sub_id>/close")
@role_required(Role.OFFICER)
def close(sub_id):
    form = CloseForm()
    return _act(
        sub_id,
        form,
        "close_form",
        lambda: services.close(current_user, sub_id, form.note.data or None),
        _("The view is closed."),
    )
