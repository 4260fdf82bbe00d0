"""Account management for administrators: list, create, change role, password, activation,
two-factor reset. Every change goes through auth.services, which audits it and ends the
account's sessions. Bureau settings: each bureau's answer target and official contacts
(admin.services, audited)."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from ..auth import enrolment
from ..auth import services as accounts
from ..auth.demo_accounts import is_demo_email
from ..auth.login import role_required
from ..kernel import catalogue
from ..kernel.models import OutboxStatus, Role, TrainingStatus, utcnow
from ..routing import quality
from ..routing import versions as model_versions
from ..web import i18n
from ..web.pagination import parse_after
from . import bp, forms, services
from . import outbox as mail_outbox

ACTIVE_ARGS = {"1": True, "0": False}


def _with_choices(form):
    form.role.choices = forms.role_choices()
    form.bureau.choices = forms.bureau_choices(i18n.in_reading_order(catalogue.list_bureaus(), "name"))
    return form


def _bureau_for(form) -> str | None:
    # The bureau list stays on the form for every role; it only means something for officers.
    return (form.bureau.data or None) if form.role.data == Role.OFFICER else None


def _attach(form, exc: accounts.AccountError) -> None:
    """Show the service's refusal beside the field it is about, or at the top of the page."""
    field = form._fields.get(exc.field) if exc.field else None
    if field is not None:
        field.errors = [*field.errors, exc.message]
    else:
        flash(exc.message, "error")


def _handover(user, *, password: str | None = None, link: enrolment.IssuedLink | None = None):
    """The page that shows, once, what to pass on to the person: a password, an enrolment link."""
    link_url = url_for("auth.enrol_with_link", token=link.token, _external=True) if link else None
    return render_template("admin/password_shown.html", user=user, password=password, link=link, link_url=link_url)


def _account_or_404(user_id: int):
    return services.get_account(user_id) or abort(404)


@bp.get("/users")
@role_required(Role.ADMIN)
def list_accounts():
    filters = services.AccountFilter(
        search=request.args.get("q"),
        role=request.args.get("role") or None,
        active=ACTIVE_ARGS.get(request.args.get("active", "")),
    )
    page = services.account_page(
        filters, after=parse_after(request.args.get("after")), size=current_app.config["PAGE_SIZE"]
    )
    return render_template(
        "admin/users.html",
        page=page,
        filters=filters,
        two_factor_on=services.two_factor_on,
        is_demo_email=is_demo_email,
    )


@bp.get("/routing")
@role_required(Role.ADMIN)
def routing_quality():
    return render_template("admin/routing_quality.html", quality=quality.routing_quality())


def _render_classifier(status=200):
    return render_template(
        "admin/classifier.html",
        versions=model_versions.versions(),
        runs=model_versions.latest_runs(),
        history=model_versions.version_history(),
        retrain_form=forms.RetrainForm(),
        activate_form=forms.ActivateVersionForm(),
    ), status


@bp.get("/classifier")
@role_required(Role.ADMIN)
def classifier_versions():
    return _render_classifier()


@bp.post("/classifier/retrain")
@role_required(Role.ADMIN)
def retrain():
    if not forms.RetrainForm().validate_on_submit():
        return _render_classifier(status=400)
    try:
        run = model_versions.request_retraining(current_user)
    except model_versions.RetrainingBusy:
        flash(
            _("A retraining is already under way; its progress is shown below. Ask again once it has finished."),
            "error",
        )
        return redirect(url_for(".classifier_versions"))
    if run.status == TrainingStatus.FAILED:
        flash(
            _(
                "The retraining could not be handed to the worker: %(error)s",
                error=i18n.TRAINING_ERROR_LABELS.get(run.error, run.error),
            ),
            "error",
        )
    else:
        flash(_("Retraining has started. Its progress is shown below; the page updates by itself."), "success")
    return redirect(url_for(".classifier_versions"))


@bp.post("/classifier/<int:version_id>/activate")
@role_required(Role.ADMIN)
def activate_version(version_id):
    if not forms.ActivateVersionForm().validate_on_submit():
        return _render_classifier(status=400)
    try:
        version = model_versions.activate(version_id, actor=current_user)
    except LookupError:
        abort(404)
    flash(
        _("Version %(label)s is now active: every worker uses it for the next view it routes.", label=version.label),
        "success",
    )
    return redirect(url_for(".classifier_versions"))


@bp.route("/users/new", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def create_account():
    form = _with_choices(forms.CreateAccountForm())
    if form.validate_on_submit():
        generated = services.generate_password() if form.generate_password.data else None
        try:
            user = accounts.create_user(
                form.email.data,
                generated or form.password.data,
                form.role.data,
                display_name=form.display_name.data,
                bureau=_bureau_for(form),
                actor=current_user,
            )
        except accounts.AccountError as exc:
            _attach(form, exc)
        else:
            flash(_("The account for %(email)s is created.", email=user.email), "success")
            link = accounts.issue_enrolment_link(user.id, actor=current_user) if enrolment.needs_link(user) else None
            if generated or link:
                return _handover(user, password=generated, link=link)
            return redirect(url_for(".view_account", user_id=user.id))
    return render_template("admin/new.html", form=form), 400 if form.is_submitted() else 200


@bp.get("/users/<int:user_id>")
@role_required(Role.ADMIN)
def view_account(user_id):
    return _render_account(_account_or_404(user_id))


def _render_account(user, *, status=200, **given):
    """The account page; a form that was just sent and refused is shown as it was typed."""
    page_forms = {
        "role_form": _with_choices(forms.ChangeRoleForm(formdata=None, role=user.role, bureau=user.bureau_code or "")),
        "password_form": forms.SetPasswordForm(formdata=None),
        "generate_form": forms.GeneratePasswordForm(formdata=None),
        "deactivate_form": forms.DeactivateForm(formdata=None),
        "reactivate_form": forms.ReactivateForm(formdata=None),
        "two_factor_form": forms.ResetTwoFactorForm(formdata=None),
        "link_form": forms.IssueEnrolmentLinkForm(formdata=None),
    }
    page_forms.update(given)
    return render_template(
        "admin/account.html",
        user=user,
        history=services.account_history(user),
        two_factor_on=services.two_factor_on(user),
        is_demo=is_demo_email(user.email),
        needs_link=enrolment.needs_link(user),
        latest_link=enrolment.latest(user),
        now=utcnow(),
        is_self=user.id == current_user.id,
        **page_forms,
    ), status


def _change(user_id: int, form, form_name: str, change, done_message):
    """Run one change from the account page: redirect with a message, or show the refusal."""
    user = _account_or_404(user_id)
    if form.validate_on_submit():
        try:
            change(user)
        except accounts.AccountError as exc:
            _attach(form, exc)
        else:
            flash(done_message, "success")
            return redirect(url_for(".view_account", user_id=user_id))
    return _render_account(user, status=400, **{form_name: form})


@bp.post("/users/<int:user_id>/role")
@role_required(Role.ADMIN)
def change_role(user_id):
    form = _with_choices(forms.ChangeRoleForm())
    return _change(
        user_id,
        form,
        "role_form",
        lambda user: accounts.change_role(user.id, form.role.data, _bureau_for(form), actor=current_user),
        _("The role is changed. The account was signed out everywhere, so the new role applies at once."),
    )


@bp.post("/users/<int:user_id>/password")
@role_required(Role.ADMIN)
def set_password(user_id):
    form = forms.SetPasswordForm()
    return _change(
        user_id,
        form,
        "password_form",
        lambda user: accounts.change_password(user.id, form.password.data, actor=current_user),
        _("The new password is set and the account was signed out everywhere. Pass the password on privately."),
    )


@bp.post("/users/<int:user_id>/password/generate")
@role_required(Role.ADMIN)
def generate_password(user_id):
    user = _account_or_404(user_id)
    form = forms.GeneratePasswordForm()
    if not form.validate_on_submit():
        return _render_account(user, status=400, generate_form=form)
    password = services.generate_password()
    accounts.change_password(user.id, password, actor=current_user)
    flash(_("A new password is set and the account was signed out everywhere."), "success")
    return _handover(user, password=password)


@bp.post("/users/<int:user_id>/deactivate")
@role_required(Role.ADMIN)
def deactivate(user_id):
    form = forms.DeactivateForm()
    return _change(
        user_id,
        form,
        "deactivate_form",
        lambda user: accounts.set_active(user.id, False, actor=current_user),
        _("The account is deactivated: it was signed out and cannot sign in."),
    )


@bp.post("/users/<int:user_id>/reactivate")
@role_required(Role.ADMIN)
def reactivate(user_id):
    form = forms.ReactivateForm()
    return _change(
        user_id,
        form,
        "reactivate_form",
        lambda user: accounts.set_active(user.id, True, actor=current_user),
        _("The account is active again and can sign in."),
    )


@bp.post("/users/<int:user_id>/two-factor/reset")
@role_required(Role.ADMIN)
def reset_two_factor(user_id):
    user = _account_or_404(user_id)
    form = forms.ResetTwoFactorForm()
    if not form.validate_on_submit():
        return _render_account(user, status=400, two_factor_form=form)
    link = accounts.reset_two_factor(user.id, actor=current_user)
    if link is None:
        flash(_("Two-step sign-in is reset and the account was signed out everywhere."), "success")
        return redirect(url_for(".view_account", user_id=user_id))
    flash(
        _(
            "Two-step sign-in is reset and the account was signed out everywhere. It can sign in again once "
            "the person sets up an authenticator through the new enrolment link below."
        ),
        "success",
    )
    return _handover(user, link=link)


@bp.post("/users/<int:user_id>/enrolment-link")
@role_required(Role.ADMIN)
def issue_enrolment_link(user_id):
    user = _account_or_404(user_id)
    form = forms.IssueEnrolmentLinkForm()
    if form.validate_on_submit():
        try:
            link = accounts.issue_enrolment_link(user.id, actor=current_user)
        except accounts.AccountError as exc:
            _attach(form, exc)
        else:
            flash(_("A new enrolment link is issued; any older one no longer works."), "success")
            return _handover(user, link=link)
    return _render_account(user, status=400, link_form=form)


# --- bureau settings -------------------------------------------------------------------------------


def _bureau_or_404(code: str) -> services.BureauSettings:
    return services.get_bureau(code) or abort(404)


@bp.get("/bureaus")
@role_required(Role.ADMIN)
def bureaus():
    settings = services.bureau_settings()
    order = {b.code: i for i, b in enumerate(i18n.in_reading_order([s.bureau for s in settings], "name"))}
    return render_template("admin/bureaus.html", settings=sorted(settings, key=lambda s: order[s.bureau.code]))


def _render_bureau(code: str, *, status=200, **given):
    settings = _bureau_or_404(code)
    page_forms = {
        "target_form": forms.AnswerTargetForm(formdata=None, days=settings.bureau.answer_target_days),
        "contact_form": forms.OfficialContactForm(formdata=None),
        "remove_form": forms.RemoveContactForm(formdata=None),
    }
    page_forms.update(given)
    return render_template(
        "admin/bureau.html", settings=settings, history=services.bureau_history(code), **page_forms
    ), status


def _attach_setting(form, exc: services.SettingsError) -> None:
    field = form._fields.get(exc.field)
    if field is not None:
        field.errors = [*field.errors, exc.message]
    else:
        flash(exc.message, "error")


@bp.get("/bureaus/<code>")
@role_required(Role.ADMIN)
def bureau(code):
    return _render_bureau(code)


@bp.post("/bureaus/<code>/target")
@role_required(Role.ADMIN)
def set_answer_target(code):
    _bureau_or_404(code)
    form = forms.AnswerTargetForm()
    if form.validate_on_submit():
        try:
            moved = services.set_answer_target(code, form.days.data, actor=current_user)
        except services.SettingsError as exc:
            _attach_setting(form, exc)
        else:
            flash(
                ngettext(
                    "The answer target is %(days)s working days. The due date of %(num)d view awaiting an "
                    "answer was recomputed.",
                    "The answer target is %(days)s working days. The due dates of %(num)d views awaiting an "
                    "answer were recomputed.",
                    moved,
                    days=form.days.data,
                ),
                "success",
            )
            return redirect(url_for(".bureau", code=code))
    return _render_bureau(code, status=400, target_form=form)


@bp.post("/bureaus/<code>/contacts")
@role_required(Role.ADMIN)
def add_official_contact(code):
    _bureau_or_404(code)
    form = forms.OfficialContactForm()
    if form.validate_on_submit():
        try:
            contact = services.add_official_contact(
                code, form.value.data, label_en=form.label_en.data, label_zh=form.label_zh.data, actor=current_user
            )
        except services.SettingsError as exc:
            _attach_setting(form, exc)
        else:
            flash(_("%(value)s is now an official contact of this bureau.", value=contact.value), "success")
            return redirect(url_for(".bureau", code=code))
    return _render_bureau(code, status=400, contact_form=form)


@bp.post("/bureaus/<code>/contacts/<int:contact_id>/remove")
@role_required(Role.ADMIN)
def remove_official_contact(code, contact_id):
    _bureau_or_404(code)
    form = forms.RemoveContactForm()
    if not form.validate_on_submit():
        return _render_bureau(code, status=400)
    try:
        value = services.remove_official_contact(code, contact_id, actor=current_user)
    except LookupError:
        abort(404)
    flash(_("%(value)s is no longer an official contact: answers mask it again.", value=value), "success")
    return redirect(url_for(".bureau", code=code))


@bp.get("/outbox")
@role_required(Role.ADMIN)
def outbox():
    status = request.args.get("status") or "pending"
    if status not in mail_outbox.TABS:
        abort(400)
    address = (request.args.get("address") or "").strip()[:254] or None
    page = mail_outbox.page(
        status, address=address, after=parse_after(request.args.get("after")), size=current_app.config["PAGE_SIZE"]
    )
    return render_template(
        "admin/outbox.html",
        page=page,
        status=status,
        address=address,
        counts=mail_outbox.counts(),
        tabs=mail_outbox.TABS,
        smtp_host=current_app.config.get("SMTP_HOST"),
        kind_labels=i18n.MAIL_KIND_LABELS,
        status_labels=i18n.OUTBOX_STATUS_LABELS,
    )


@bp.post("/outbox/<int:message_id>/retry")
@role_required(Role.ADMIN)
def retry_mail(message_id):
    if mail_outbox.retry(message_id, current_user):
        flash(_("The message will be sent again now."), "success")
    else:
        flash(_("That message is no longer waiting to be sent again: it was sent, or erased."), "info")
    return redirect(url_for("admin.outbox", status=OutboxStatus.FAILED))
