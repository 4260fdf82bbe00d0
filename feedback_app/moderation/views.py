from urllib.parse import parse_qsl

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from werkzeug.datastructures import MultiDict
from wtforms.fields.choices import SelectChoice

from ..auth.login import role_required
from ..campaigns import services as campaigns
from ..campaigns import support
from ..kernel import catalogue, workflow
from ..kernel.models import Role
from ..kernel.workflow import Action, TransitionNotAllowed
from ..routing import services as routing
from ..text.redaction import published_text
from ..web.i18n import (
    BAND_LABELS,
    BULK_LABELS,
    FLAG_LABELS,
    LANGUAGE_NAMES,
    PERSONAL_DATA_LABELS,
    REJECTION_LABELS,
    SORT_LABELS,
    STATUS_LABELS,
    VISIBILITY_LABELS,
    in_reading_order,
    localized,
)
from ..web.input_guard import parse_id
from ..web.pagination import parse_after
from . import bp, bulk, services
from . import dashboard as dashboard_service
from . import queue as queue_service
from .forms import (
    BulkForm,
    NotPersonalForm,
    PublicTextForm,
    QueueFilterForm,
    RejectForm,
    ReopenForm,
    RouteForm,
    SplitForm,
    VisibilityForm,
)

MODERATORS = (Role.MODERATOR, Role.ADMIN)


def _route_choices(form: RouteForm) -> RouteForm:
    form.area.choices = [SelectChoice(a.code, localized(a, "name")) for a in catalogue.list_areas()]
    form.bureau.choices = [
        SelectChoice(b.code, f"{b.code} — {localized(b, 'name')}")
        for b in in_reading_order(catalogue.list_bureaus(), "name")
    ]
    return form


def _filter_form(args=None) -> QueueFilterForm:
    """The filters with their choices in the reader's language; any = the empty choice."""
    form = QueueFilterForm(request.args if args is None else args)
    bureaus = [SelectChoice(b.code, localized(b, "name")) for b in in_reading_order(catalogue.list_bureaus(), "name")]
    form.status.choices = [SelectChoice("", _("Waiting for review"))] + [
        SelectChoice(code, STATUS_LABELS[code]) for code in ("routed", "answered", "rejected", "closed")
    ]
    form.area.choices = [SelectChoice("", _("All areas"))] + [
        SelectChoice(a.code, localized(a, "name")) for a in catalogue.list_areas()
    ]
    form.bureau.choices = [SelectChoice("", _("All bureaus")), *bureaus]
    form.final_bureau.choices = [SelectChoice("", _("Any or none")), *bureaus]
    form.initiative.choices = [SelectChoice("", _("Any initiative"))] + [
        SelectChoice(str(i.id), localized(i, "title"))
        for i in in_reading_order(catalogue.initiative_refs().values(), "title")
    ]
    form.language.choices = [SelectChoice("", _("Any"))] + [
        SelectChoice(code, name) for code, name in LANGUAGE_NAMES.items()
    ]
    form.visibility.choices = [SelectChoice("", _("Any"))] + [
        SelectChoice(code, label) for code, label in VISIBILITY_LABELS.items()
    ]
    form.flag.choices = [SelectChoice("", _("Any")), SelectChoice("any", _("Flagged for any reason"))] + [
        SelectChoice(code, label) for code, label in FLAG_LABELS.items()
    ]
    form.band.choices = [SelectChoice("", _("Any"))] + [
        SelectChoice(code, label) for code, label in BAND_LABELS.items()
    ]
    form.sort.choices = [SelectChoice(code, label) for code, label in SORT_LABELS.items()]
    return form


def _filters(form: QueueFilterForm) -> queue_service.QueueFilter:
    return queue_service.QueueFilter(
        status=form.status.data or None,
        area=form.area.data or None,
        bureau=form.bureau.data or None,
        final_bureau=form.final_bureau.data or None,
        initiative=int(form.initiative.data) if form.initiative.data else None,
        language=form.language.data or None,
        visibility=form.visibility.data or None,
        flag=form.flag.data or None,
        band=form.band.data or None,
        since=form.since.data,
        until=form.until.data,
        text=form.text.data or None,
        sort=queue_service.Sort(form.sort.data or queue_service.Sort.PRIORITY),
    )


@bp.get("/queue")
@role_required(*MODERATORS)
def queue():
    form = _filter_form()
    if not form.validate():
        # The filters as typed, with what is wrong; nothing is listed until they make sense.
        return render_template("moderation/queue.html", form=form, filters=None, page=None), 400
    filters = _filters(form)
    page = queue_service.page(
        filters, after=parse_after(request.args.get("after")), size=current_app.config["PAGE_SIZE"]
    )
    backlog = queue_service.backlog_counts() if filters.in_backlog else None
    if backlog is not None:
        _label_with_counts(form, backlog)
    return render_template(
        "moderation/queue.html",
        form=form,
        page=page,
        filters=filters,
        held_by_other=services.held_by_other,
        matching=queue_service.matching_count(filters),
        backlog=backlog,
        campaign_sizes=campaigns.sizes({row.campaign_id for row in page.items if row.campaign_id}),
        bulk_form=_bulk_form(
            BulkForm(
                formdata=None, query=request.query_string.decode(), up_to_id=queue_service.newest_id(), scope="selected"
            )
        )
        if filters.in_backlog and page.items
        else None,
        target_hours=current_app.config["REVIEW_TARGET_HOURS"],
        overdue_before=queue_service.overdue_before(current_app.config["REVIEW_TARGET_HOURS"]),
    )


def _label_with_counts(form: QueueFilterForm, backlog: queue_service.BacklogCounts) -> None:
    """Each choice says how many views awaiting review it holds: "Transport … (12)"."""
    for field, counts in (
        (form.bureau, backlog.by_bureau),
        (form.area, backlog.by_area),
        (form.language, backlog.by_language),
        (form.band, backlog.by_band),
    ):
        field.choices = [
            SelectChoice(c.value, f"{c.label} ({counts.get(c.value, 0):,})") if c.value else c for c in field.choices
        ]


def _bulk_form(form: BulkForm) -> BulkForm:
    form.decision.choices = [SelectChoice(code, label) for code, label in BULK_LABELS.items()]
    form.bureau.choices = [SelectChoice("", _("Choose a bureau"))] + [
        SelectChoice(b.code, localized(b, "name")) for b in in_reading_order(catalogue.list_bureaus(), "name")
    ]
    form.reason.choices = [SelectChoice("", _("Choose a reason"))] + [
        SelectChoice(code, label) for code, label in REJECTION_LABELS.items()
    ]
    form.scope.choices = [
        SelectChoice("selected", _("The views ticked in the list")),
        SelectChoice("matching", _("Every view matching the filters")),
    ]
    return form


def _bulk_targets(form: BulkForm, filters) -> list[tuple[int, int | None]]:
    """(id, version seen) of each ticked view; for the filters' views, their ids as they are now."""
    if form.scope.data == "matching":
        return [(sub_id, None) for sub_id in bulk.matching_ids(filters, up_to_id=form.up_to_id.data)]
    targets = []
    for item in request.form.getlist("item")[: bulk.LIMIT]:
        sub_id, _sep, version = item.partition(":")
        sub_id, version = parse_id(sub_id), parse_id(version)
        if sub_id is None or version is None:
            abort(400)  # the page never sends anything else
        targets.append((sub_id, version))
    return targets


@bp.post("/bulk")
@role_required(*MODERATORS)
def bulk_decision():
    form = _bulk_form(BulkForm())
    filter_form = _filter_form(MultiDict(parse_qsl(form.query.data or "")))
    if not filter_form.validate():
        abort(400)  # the hidden copy of filters the page itself had accepted
    filters = _filters(filter_form)
    back = url_for(".queue") + ("?" + form.query.data if form.query.data else "")
    if not form.validate():
        return render_template("moderation/bulk.html", form=form, targets=None, back=back), 400
    targets = _bulk_targets(form, filters)
    if not targets:
        flash(_("Tick at least one view in the list, or choose every view matching the filters."), "error")
        return redirect(back)
    decision = bulk.Decision(
        bulk.Kind(form.decision.data), bureau=form.bureau.data or None, reason=form.reason.data or None
    )
    if not form.confirm.data:
        references = services.references([sub_id for sub_id, _version in targets[: bulk.LIMIT]])
        return render_template(
            "moderation/bulk.html",
            form=form,
            targets=targets,
            references=references,
            decision=decision,
            back=back,
            limit=bulk.LIMIT,
        )
    outcome = bulk.apply(decision, targets, actor=current_user)
    if outcome.decided:
        flash(
            ngettext(
                "%(num)d view decided; each decision is in its history.",
                "%(num)d views decided; each decision is in its history.",
                len(outcome.decided),
            ),
            "success",
        )
    if outcome.stale:
        flash(
            _("Left alone because someone changed them after you looked: %(refs)s.", refs=", ".join(outcome.stale)),
            "warning",
        )
    if outcome.refused:
        flash(_("Not possible for these views as they are now: %(refs)s.", refs=", ".join(outcome.refused)), "warning")
    if outcome.remaining:
        flash(_("%(num)d more views match; decide on them again to continue.", num=outcome.remaining), "info")
    return redirect(back)


@bp.get("/dashboard")
@role_required(*MODERATORS)
def dashboard():
    return render_template("moderation/dashboard.html", dashboard=dashboard_service.build())


@bp.get("/find")
@role_required(*MODERATORS)
def find():
    reference = request.args.get("reference", "")
    sub = services.find_by_reference(reference)
    if sub is None:
        flash(_("No view has the reference “%(reference)s”.", reference=reference.strip()), "error")
        return redirect(url_for(".queue"))
    return redirect(url_for(".item", sub_id=sub.id))


def _visibility_form(sub, allowed, form=None):
    """Only the publication decisions the view allows, the likely one first."""
    form = form or VisibilityForm(formdata=None, version=sub.version)
    offered = [
        choice for choice, action in (("published", Action.PUBLISH), ("hidden", Action.HIDE)) if action in allowed
    ]
    form.visibility.choices = [c for c in form.visibility.choices if c.value in offered]
    if form.visibility.data not in offered and offered:
        form.visibility.data = offered[0]
    return form


def _render_item(
    sub,
    *,
    route_form=None,
    reject_form=None,
    reopen_form=None,
    visibility_form=None,
    public_text_form=None,
    not_personal_form=None,
    held_by=None,
    status=200,
):
    allowed = workflow.allowed_actions(sub, current_user.role)
    copies_waiting = campaigns.waiting_copies(sub.campaign_id, other_than=sub.id) if sub.campaign_id else []
    route_form = route_form or _route_choices(
        RouteForm(
            formdata=None,
            version=sub.version,
            area=sub.area_code or sub.predicted_area_code,
            bureau=sub.bureau_code or sub.predicted_bureau_code,
            whole_campaign=True,
        )
    )
    reject_form = reject_form or RejectForm(formdata=None, version=sub.version, whole_campaign=True)
    if not copies_waiting:
        del route_form.whole_campaign, reject_form.whole_campaign
    else:
        for prefix, form in (("route", route_form), ("reject", reject_form)):  # one page, two forms: ids apart
            form.whole_campaign.id = form.whole_campaign.label.field_id = f"{prefix}-whole_campaign"
    return render_template(
        "moderation/item.html",
        sub=sub,
        history=workflow.history(sub),
        explanation=routing.explain(sub),
        support=support.of(sub),
        campaign=campaigns.variants(sub, campaigns.members(sub.campaign_id)) if sub.campaign_id else None,
        copies_waiting=copies_waiting,
        allowed=allowed,
        route_form=route_form,
        next_id=queue_service.next_for_review(sub.id),
        held_by=held_by,
        reject_form=reject_form,
        reopen_form=reopen_form or ReopenForm(formdata=None, version=sub.version),
        visibility_form=_visibility_form(sub, allowed, visibility_form),
        split_form=SplitForm(formdata=None),
        public_text_form=public_text_form
        or PublicTextForm(
            formdata=None,
            version=sub.version,
            public_text=published_text(sub),
        ),
        masking=services.masking_of(sub),
        not_personal_form=not_personal_form or NotPersonalForm(formdata=None, version=sub.version),
    ), status


@bp.get("/submissions/<id:sub_id>")
@role_required(*MODERATORS)
def item(sub_id):
    sub = services.get(sub_id) or abort(404)
    return _render_item(sub, held_by=services.hold(sub, current_user))


def _decide(sub_id, form, decide, done_message, form_name):
    sub = services.get(sub_id) or abort(404)
    if not form.validate_on_submit():
        return _render_item(sub, **{form_name: form}, status=400)
    try:
        decide(sub)
    except services.StaleDecision:
        flash(
            _("Someone else decided on this view first. Here is what they did; please check before deciding again."),
            "warning",
        )
    except (services.InvalidDecision, TransitionNotAllowed):
        flash(_("That decision is not possible for a view in this state."), "error")
    else:
        flash(done_message, "success")
        if getattr(form, "submit_next", None) is not None and form.submit_next.data:
            services.release(sub_id, current_user)
            next_id = queue_service.next_for_review(sub_id)
            if next_id is None:
                flash(_("That was the last view waiting for review."), "info")
                return redirect(url_for(".queue"))
            return redirect(url_for(".item", sub_id=next_id))
    return redirect(url_for(".item", sub_id=sub_id))


def _said(copies: services.CampaignCopies | None) -> None:
    """What became of the campaign's other waiting copies, when the moderator decided for them too."""
    if copies is None:
        return
    if copies.decided:
        flash(
            ngettext(
                "The same decision was made for %(num)d other copy of the campaign.",
                "The same decision was made for %(num)d other copies of the campaign.",
                len(copies.decided),
            ),
            "success",
        )
    if copies.refused or copies.stale:
        flash(
            _("Not possible for these views as they are now: %(refs)s.", refs=", ".join(copies.refused + copies.stale)),
            "warning",
        )


@bp.post("/submissions/<id:sub_id>/route")
@role_required(*MODERATORS)
def route(sub_id):
    form = _route_choices(RouteForm())
    return _decide(
        sub_id,
        form,
        lambda sub: _said(
            services.route(
                sub.id,
                area=form.area.data,
                bureau=form.bureau.data,
                actor=current_user,
                version=form.version.data,
                whole_campaign=bool(form.whole_campaign.data),
            )
        ),
        _("The view has been routed."),
        "route_form",
    )


@bp.post("/submissions/<id:sub_id>/reject")
@role_required(*MODERATORS)
def reject(sub_id):
    form = RejectForm()
    return _decide(
        sub_id,
        form,
        lambda sub: _said(
            services.reject(
                sub.id,
                reason=form.reason.data,
                note=form.note.data,
                actor=current_user,
                version=form.version.data,
                whole_campaign=bool(form.whole_campaign.data),
            )
        ),
        _("The view has been rejected."),
        "reject_form",
    )


@bp.post("/submissions/<id:sub_id>/split")
@role_required(*MODERATORS)
def split(sub_id):
    form = SplitForm()
    sub = services.get(sub_id) or abort(404)
    if not form.validate_on_submit():
        return _render_item(sub, status=400)
    campaigns.split_out(sub.id, actor=current_user)
    flash(_("The view is no longer part of the campaign: it is listed and decided on its own."), "success")
    return redirect(url_for(".item", sub_id=sub.id))


@bp.post("/submissions/<id:sub_id>/reopen")
@role_required(*MODERATORS)
def reopen(sub_id):
    form = ReopenForm()
    return _decide(
        sub_id,
        form,
        lambda sub: services.reopen(sub.id, note=form.note.data or None, actor=current_user, version=form.version.data),
        _("The view is back in the review queue."),
        "reopen_form",
    )


@bp.post("/submissions/<id:sub_id>/public-text")
@role_required(*MODERATORS)
def public_text(sub_id):
    form = PublicTextForm()
    automatic = form.submit_automatic.data
    if automatic:
        form.public_text.validators = []  # the text box does not matter: the masking is made again

    def decide(sub):
        remaining = services.edit_public_text(
            sub.id,
            text=None if automatic else form.public_text.data,
            actor=current_user,
            version=form.version.data,
        )
        if remaining:
            flash(
                _(
                    "The masking hides in it: %(kinds)s. If something it hides is not personal data, tick it under "
                    "“What the masking hides”.",
                    kinds=", ".join(sorted({str(PERSONAL_DATA_LABELS.get(f.kind, f.kind)) for f in remaining})),
                ),
                "info",
            )

    return _decide(
        sub_id, form, decide, _("The published text is saved; the view as sent is unchanged."), "public_text_form"
    )


@bp.post("/submissions/<id:sub_id>/not-personal")
@role_required(*MODERATORS)
def not_personal(sub_id):
    form = NotPersonalForm()
    return _decide(
        sub_id,
        form,
        lambda sub: services.mark_not_personal(
            sub.id, texts=form.not_personal.data or [], actor=current_user, version=form.version.data
        ),
        _("Saved: what you ticked is published as typed, everything else the masking finds stays hidden."),
        "not_personal_form",
    )


@bp.post("/submissions/<id:sub_id>/visibility")
@role_required(*MODERATORS)
def visibility(sub_id):
    form = VisibilityForm()
    return _decide(
        sub_id,
        form,
        lambda sub: services.set_visibility(
            sub.id, visibility=form.visibility.data, actor=current_user, version=form.version.data
        ),
        _("Public visibility saved."),
        "visibility_form",
    )
