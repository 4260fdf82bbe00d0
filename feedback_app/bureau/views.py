from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from ..auth.login import role_required
from ..campaigns import support
from ..kernel import catalogue, public
from ..kernel.models import Role
from ..kernel.workflow import Action, TransitionNotAllowed
from ..routing import services as routing
from ..text import markup
from ..web.i18n import LANGUAGE_NAMES, in_reading_order, localized
from ..web.input_guard import parse_id
from ..web.pagination import parse_after
from . import answer_templates, bp, export, services, timeline
from . import inbox as lists
from .forms import (
    AnswerForm,
    AssignForm,
    CloseForm,
    DeleteForm,
    InboxFilterForm,
    InviteForm,
    ManyAnswerForm,
    NoteForm,
    ReopenForm,
    SendBackForm,
    TakeForm,
    TemplateForm,
)

TAB_LABELS = {
    lists.Tab.NEW: lambda: _("New"),
    lists.Tab.MINE: lambda: _("Assigned to me"),
    lists.Tab.IN_PROGRESS: lambda: _("In progress"),
    lists.Tab.JOINT: lambda: _("Joint"),
    lists.Tab.SENT_BACK: lambda: _("Sent back"),
    lists.Tab.ANSWERED: lambda: _("Answered"),
    lists.Tab.CLOSED: lambda: _("Closed"),
    lists.Tab.ALL: lambda: _("All"),
}
SORT_LABELS = {
    lists.Sort.DUE: lambda: _("Due soonest first"),
    lists.Sort.OLDEST: lambda: _("Oldest first"),
    lists.Sort.NEWEST: lambda: _("Newest first"),
}


def _bureau_choices(exclude: str | None = None, *, blank: str | None = None) -> list[SelectChoice]:
    choices = [
        SelectChoice(b.code, localized(b, "name"))
        for b in in_reading_order(catalogue.list_bureaus(), "name")
        if b.code != exclude
    ]
    return ([SelectChoice("", blank)] if blank is not None else []) + choices


def _filter_form() -> InboxFilterForm:
    form = InboxFilterForm(request.args)
    form.initiative.choices = [SelectChoice("", _("Any initiative"))] + [
        SelectChoice(str(i.id), localized(i, "title"))
        for i in in_reading_order(catalogue.initiative_refs().values(), "title")
    ]
    form.area.choices = [SelectChoice("", _("All areas"))] + [
        SelectChoice(a.code, localized(a, "name")) for a in catalogue.list_areas()
    ]
    form.language.choices = [SelectChoice("", _("Any"))] + [
        SelectChoice(code, name) for code, name in LANGUAGE_NAMES.items()
    ]
    form.assignee.choices = [SelectChoice("", _("Anyone")), SelectChoice(str(lists.NOBODY), _("Nobody yet"))] + [
        SelectChoice(str(o.id), o.display_name) for o in lists.officers(current_user.bureau_code)
    ]
    form.sort.choices = [SelectChoice(code.value, label()) for code, label in SORT_LABELS.items()]
    return form


def _tab() -> lists.Tab:
    value = request.args.get("tab") or lists.Tab.NEW
    try:
        return lists.Tab(value)
    except ValueError:
        abort(404)


def _filters(form: InboxFilterForm, tab: lists.Tab) -> lists.InboxFilter:
    assignee = form.assignee.data
    return lists.InboxFilter(
        tab=tab,
        initiative=int(form.initiative.data) if form.initiative.data else None,
        area=form.area.data or None,
        campaign=form.campaign.data or None,
        language=form.language.data or None,
        assignee=int(assignee) if assignee not in (None, "") else None,
        overdue=bool(form.overdue.data),
        since=form.since.data,
        until=form.until.data,
        text=form.text.data or None,
        sort=lists.Sort(form.sort.data or lists.Sort.DUE),
    )


@bp.get("/")
@role_required(Role.OFFICER)
def inbox():
    tab = _tab()
    form = _filter_form()
    now = services.now()
    counts = lists.counts(current_user.bureau_code, current_user.id, now=now)
    if not form.validate():
        return render_template(
            "bureau/inbox.html", form=form, tab=tab, counts=counts, page=None, filters=None, **_labels()
        ), 400
    filters = _filters(form, tab)
    page = lists.page(
        filters,
        current_user.bureau_code,
        current_user.id,
        after=parse_after(request.args.get("after")),
        size=current_app.config["PAGE_SIZE"],
        now=now,
    )
    return render_template(
        "bureau/inbox.html",
        form=form,
        tab=tab,
        counts=counts,
        page=page,
        filters=filters,
        now=now,
        campaign_sizes=lists.campaign_sizes(page.items, filters, current_user.bureau_code, current_user.id),
        export_limit=export.MAX_ROWS,
        **_labels(),
    )


def _labels():
    return {
        "TAB_LABELS": {tab: label() for tab, label in TAB_LABELS.items()},
        "Tab": lists.Tab,
    }


@bp.get("/find")
@role_required(Role.OFFICER)
def find():
    reference = request.args.get("reference", "")
    sub = services.find_visible_by_reference(current_user, reference[:40])
    if sub is None:
        flash(_("None of your bureau's views has the reference “%(reference)s”.", reference=reference.strip()), "error")
        return redirect(url_for(".inbox"))
    return redirect(url_for(".item", sub_id=sub.id))


def _visible_or_404(sub_id):
    try:
        return services.get_visible(current_user, sub_id)
    except services.NotVisible:
        abort(404)


def _forms_for(sub, given):
    """Every form the view's page may show, with its choices; `given`: the one sent back with errors."""
    forms = {
        "answer_form": AnswerForm(formdata=None),
        "assign_form": AssignForm(formdata=None),
        "take_form": TakeForm(formdata=None),
        "note_form": NoteForm(formdata=None),
        "send_back_form": SendBackForm(formdata=None),
        "invite_form": InviteForm(formdata=None),
        "close_form": CloseForm(formdata=None),
        "reopen_form": ReopenForm(formdata=None),
    }
    forms.update(given)
    forms["assign_form"].assignee.choices = [
        SelectChoice(o.id, o.display_name) for o in lists.officers(current_user.bureau_code)
    ]
    forms["send_back_form"].suggested_bureau.choices = _bureau_choices(
        current_user.bureau_code, blank=_("I do not know")
    )
    forms["invite_form"].bureau.choices = _bureau_choices(sub.bureau_code, blank=_("Choose a bureau"))
    return forms


def _render_item(sub, *, status=200, preview=None, **given):
    forms = _forms_for(sub, given)
    template_id = parse_id(request.args.get("template"))
    chosen = answer_templates.get(current_user, template_id) if template_id else None
    if chosen is not None and "answer_form" not in given:
        filled = answer_templates.fill(chosen, sub)
        forms["answer_form"] = AnswerForm(formdata=None, english=filled.english, chinese=filled.chinese)
    relation = services.relation(current_user, sub)
    return render_template(
        "bureau/item.html",
        sub=sub,
        relation=relation,
        timeline=timeline.of(current_user, sub),
        explanation=routing.explain(sub) if sub.predicted_bureau_code else None,
        reason=services.routing_reason(current_user, sub),
        overdue=services.is_overdue(sub),
        due=services.due(sub),
        support=support.of(sub),
        allowed=services.allowed(current_user, sub),
        templates=answer_templates.for_bureau(current_user.bureau_code),
        chosen_template=chosen,
        preview=preview,
        answers=[(a, _as_published(a)) for a in sub.answers],
        **forms,
    ), status


@bp.get("/submissions/<id:sub_id>")
@role_required(Role.OFFICER)
def item(sub_id):
    return _render_item(_visible_or_404(sub_id))


def _act(sub_id, form, form_name, act, done_message, *, then=None):
    sub = _visible_or_404(sub_id)
    if not form.validate_on_submit():
        return _render_item(sub, status=400, **{form_name: form})
    try:
        result = act()
    except services.NotVisible:
        abort(404)
    except TransitionNotAllowed:
        flash(_("That action is not possible for this view in its present state."), "error")
        return redirect(url_for(".item", sub_id=sub_id))
    message = done_message(result) if callable(done_message) else done_message
    flash(message, "success")
    return redirect(then or url_for(".item", sub_id=sub_id))


PUBLICATION_MESSAGES = {
    services.Publication.PUBLISHED_NOW: lambda: _("Your answer is published with the view."),
    services.Publication.ALREADY_PUBLIC: lambda: _("Your answer is published with the view."),
    services.Publication.AWAITS_MODERATOR: lambda: _(
        "Your answer is saved and its sender can read it on their tracking page. "
        "It will be public when a moderator publishes the view."
    ),
    services.Publication.HIDDEN: lambda: _(
        "Your answer is saved and its sender can read it on their tracking page. "
        "The view is not public, so the answer is not either."
    ),
}


def _as_published(answer) -> public.PublicAnswer | None:
    """An answer as the public reads it (masked, rendered); None if its text is over the limits."""
    try:
        return public.answer_preview(answer.body, answer.translation, answer.language, answer.bureau_code)
    except markup.MarkupTooLarge:
        return None


def _answer_text(form) -> services.AnswerText:
    return services.AnswerText((form.english.data or "").strip() or None, (form.chinese.data or "").strip() or None)


def _preview(form) -> public.PublicAnswer:
    text = _answer_text(form).as_row()
    return public.answer_preview(text["body"], text["translation"], text["language"], current_user.bureau_code)


@bp.post("/submissions/<id:sub_id>/answer")
@role_required(Role.OFFICER)
def answer(sub_id):
    form = AnswerForm()
    sub = _visible_or_404(sub_id)
    if form.preview.data:
        if not form.validate_on_submit():
            return _render_item(sub, status=400, answer_form=form)
        return _render_item(sub, answer_form=form, preview=_preview(form))
    then = None
    if form.submit_next.data:
        following = lists.next_to_answer(current_user.bureau_code, current_user.id, after_id=sub_id)
        then = url_for(".item", sub_id=following) if following else url_for(".inbox")
    return _act(
        sub_id,
        form,
        "answer_form",
        lambda: services.answer(current_user, sub_id, _answer_text(form)),
        lambda publication: PUBLICATION_MESSAGES[publication](),
        then=then,
    )


@bp.post("/submissions/<id:sub_id>/assign")
@role_required(Role.OFFICER)
def assign(sub_id):
    sub = _visible_or_404(sub_id)
    form = _forms_for(sub, {"assign_form": AssignForm()})["assign_form"]
    try:
        return _act(
            sub_id,
            form,
            "assign_form",
            lambda: services.assign(current_user, sub_id, form.assignee.data),
            lambda assignee: _("Assigned to %(name)s.", name=assignee.display_name),
        )
    except services.NotAnOfficerHere:
        abort(404)


@bp.post("/submissions/<id:sub_id>/take")
@role_required(Role.OFFICER)
def take(sub_id):
    form = TakeForm()
    return _act(
        sub_id,
        form,
        "take_form",
        lambda: services.assign(current_user, sub_id, current_user.id),
        _("You have this view now."),
    )


@bp.post("/submissions/<id:sub_id>/note")
@role_required(Role.OFFICER)
def note(sub_id):
    form = NoteForm()
    return _act(
        sub_id,
        form,
        "note_form",
        lambda: services.add_note(current_user, sub_id, form.body.data.strip()),
        _("Your note is added. Only officers see it."),
    )


@bp.post("/submissions/<id:sub_id>/send-back")
@role_required(Role.OFFICER)
def send_back(sub_id):
    sub = _visible_or_404(sub_id)
    form = _forms_for(sub, {"send_back_form": SendBackForm()})["send_back_form"]
    return _act(
        sub_id,
        form,
        "send_back_form",
        lambda: services.send_back(current_user, sub_id, form.reason.data.strip(), form.suggested_bureau.data or None),
        _("The view was sent back to the moderators for re-routing."),
        then=url_for(".inbox"),
    )


@bp.post("/submissions/<id:sub_id>/invite")
@role_required(Role.OFFICER)
def invite(sub_id):
    sub = _visible_or_404(sub_id)
    form = _forms_for(sub, {"invite_form": InviteForm()})["invite_form"]

    def act():
        try:
            return services.invite(current_user, sub_id, form.bureau.data)
        except (services.AlreadyInvited, services.UnknownBureau):
            raise TransitionNotAllowed(sub.status, Action.INVITE) from None

    return _act(
        sub_id,
        form,
        "invite_form",
        act,
        lambda bureau: _(
            "The %(bureau)s is invited: it sees this view and adds its part of the answer.",
            bureau=localized(bureau, "name"),
        ),
    )


@bp.post("/submissions/<id:sub_id>/close")
@role_required(Role.OFFICER)
def close(sub_id):
    form = CloseForm()
    return _act(
        sub_id,
        form,
        "close_form",
        lambda: services.close(current_user, sub_id, form.note.data.strip()),
        _("The view is closed. Its sender and the public read your closing note."),
    )


@bp.post("/submissions/<id:sub_id>/reopen")
@role_required(Role.OFFICER)
def reopen(sub_id):
    form = ReopenForm()
    return _act(
        sub_id,
        form,
        "reopen_form",
        lambda: services.reopen(current_user, sub_id),
        _("The view is open again, and assigned to you."),
    )


# One answer for many ---------------------------------------------------------------------------


def _targets(form: ManyAnswerForm) -> list[tuple[int, int | None]] | None:
    """The views the answer is for: a campaign's copies, or "id:version" pairs ticked in the list.
    None when the request names none or is malformed (400)."""
    if form.campaign.data:
        return services.campaign_targets(current_user, form.campaign.data)
    pairs = []
    for part in (form.ids.data or "").split(","):
        sub_id, has_version, version = part.partition(":")
        parsed = parse_id(sub_id), parse_id(version) if has_version else None
        if parsed[0] is None or (has_version and parsed[1] is None):
            return None  # a broken list: nothing is answered "as it is now" by mistake
        pairs.append(parsed)
    return pairs or None


def _many_rows(targets):
    ids = [sub_id for sub_id, _version in targets[: services.MANY_LIMIT]]
    return services.listed(current_user, ids)


@bp.route("/answer-many", methods=["GET", "POST"])
@role_required(Role.OFFICER)
def answer_many():
    if request.method == "GET":
        form = ManyAnswerForm(formdata=None, campaign=parse_id(request.args.get("campaign")))
    else:
        form = ManyAnswerForm()
        if request.form.getlist("select"):  # from the inbox's ticks: start composing
            form = ManyAnswerForm(
                formdata=None, ids=",".join(request.form.getlist("select")[: services.MANY_LIMIT + 1])
            )
    targets = _targets(form)
    if targets is None:
        abort(400)
    if len(targets) > services.MANY_LIMIT and not form.campaign.data:
        form.ids.errors = [_("At most %(limit)d views can be answered at once; tick fewer.", limit=services.MANY_LIMIT)]
        return render_template("bureau/answer_many.html", form=form, rows=[], preview=None), 400
    rows = _many_rows(targets)
    if not rows:
        abort(404)  # none of them is the bureau's (or any longer answerable)
    template_id = parse_id(request.args.get("template"))
    chosen = answer_templates.get(current_user, template_id) if template_id else None
    if chosen is not None and request.method == "GET":
        filled = answer_templates.fill(chosen, rows[0])
        form.english.data, form.chinese.data = filled.english, filled.chinese
    context = {
        "form": form,
        "rows": rows,
        "more": max(0, len(targets) - services.MANY_LIMIT),
        "templates": answer_templates.for_bureau(current_user.bureau_code),
    }
    if request.method == "GET" or request.form.getlist("select"):
        return render_template("bureau/answer_many.html", preview=None, **context)
    if not form.validate_on_submit():
        return render_template("bureau/answer_many.html", preview=None, **context), 400
    if form.preview.data or not form.confirm.data:
        if not form.preview.data:
            form.confirm.errors = [_("Please tick the box to confirm, after reading the preview.")]
        return render_template("bureau/answer_many.html", preview=_preview(form), **context), (
            200 if form.preview.data else 400
        )
    outcome = services.answer_many(current_user, targets, _answer_text(form))
    return render_template("bureau/answer_many_done.html", outcome=outcome)


# Answer templates ------------------------------------------------------------------------------


@bp.get("/templates")
@role_required(Role.OFFICER)
def templates():
    return render_template(
        "bureau/templates.html",
        templates=answer_templates.for_bureau(current_user.bureau_code),
        placeholders=answer_templates.PLACEHOLDERS,
        delete_form=DeleteForm(formdata=None),
    )


def _template_error(form, error: answer_templates.TemplateError, field) -> None:
    if error.malformed:
        field.errors.append(_("A brace is not closed. Write {{ or }} for a brace itself."))
    else:
        field.errors.append(
            _(
                "Unknown placeholder: %(names)s. You can use: %(known)s.",
                names=", ".join("{" + n + "}" for n in error.unknown),
                known=", ".join("{" + n + "}" for n in answer_templates.PLACEHOLDERS),
            )
        )


@bp.route("/templates/new", methods=["GET", "POST"])
@role_required(Role.OFFICER)
def new_template():
    return _edit_template(None)


@bp.route("/templates/<id:template_id>", methods=["GET", "POST"])
@role_required(Role.OFFICER)
def template(template_id):
    return _edit_template(template_id)


def _edit_template(template_id):
    existing = answer_templates.get(current_user, template_id) if template_id else None
    if template_id and existing is None:
        abort(404)
    form = TemplateForm(obj=existing) if request.method == "GET" else TemplateForm()
    if request.method == "POST" and form.validate_on_submit():
        for field in (form.body_en, form.body_zh):
            try:
                answer_templates.check(field.data)
            except answer_templates.TemplateError as error:
                _template_error(form, error, field)
        if not (form.body_en.data or "").strip() and not (form.body_zh.data or "").strip():
            form.body_en.errors.append(_("Please write the text in English, in Chinese, or in both."))
        if not form.errors and not form.body_en.errors and not form.body_zh.errors:
            try:
                answer_templates.save(
                    current_user,
                    template_id,
                    title=form.title.data.strip(),
                    body_en=(form.body_en.data or "").strip() or None,
                    body_zh=(form.body_zh.data or "").strip() or None,
                )
            except answer_templates.DuplicateTitle:
                form.title.errors.append(_("Your bureau has a template with this name already."))
            else:
                flash(_("The template is saved."), "success")
                return redirect(url_for(".templates"))
    status = 400 if request.method == "POST" else 200
    return render_template(
        "bureau/template.html", form=form, existing=existing, placeholders=answer_templates.PLACEHOLDERS
    ), status


@bp.post("/templates/<id:template_id>/delete")
@role_required(Role.OFFICER)
def delete_template(template_id):
    form = DeleteForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        answer_templates.delete(current_user, template_id)
    except LookupError:
        abort(404)
    flash(_("The template is deleted."), "success")
    return redirect(url_for(".templates"))
