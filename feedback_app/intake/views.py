from flask import abort, current_app, flash, g, make_response, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from ..extensions import csrf, limiter
from ..kernel import catalogue, public
from ..mail import links as mail_links
from ..web.i18n import VERDICT_LABELS, localized
from . import bp, services
from .forms import GENERAL, AnswerFeedbackForm, AttachForm, SubmissionForm, sending_code


def _submission_limit():
    return current_app.config["SUBMISSION_RATE_LIMIT"]


def _submission_stored(response) -> bool:
    # Only a stored view counts: the form redirects to its tracking page then, and answers 400
    # on a form error, so a few typos never lock a resident out of sending; a resent form
    # (nothing stored) does not count either.
    return response.status_code in (302, 303) and not g.get("view_resent", False)


# Session key: content fingerprint -> form token of the last few views this browser sent
# (services.send reads and updates it).
RECENT_SENDINGS = "recent_sendings"


def _initiative_choices(area) -> list[SelectChoice]:
    """The form's subjects in the reader's language, made once a minute per area and language
    (every sending validates against them) rather than on every request."""

    def make():
        initiatives = [ref for ref in catalogue.initiative_refs().values() if ref.area_code == area.code]
        return [SelectChoice(GENERAL, _("General view on %(area)s", area=localized(area, "name")))] + [
            SelectChoice(i.code, localized(i, "title"))
            for i in sorted(initiatives, key=lambda i: localized(i, "title"))
        ]

    return catalogue.cached_reference(f"choices:{area.code}:{get_locale()}", make)


def _form_for(area, initiative_code):
    form = SubmissionForm()
    form.initiative.choices = _initiative_choices(area)
    if not form.is_submitted():
        form.initiative.data = initiative_code or GENERAL
        form.form_token.data = sending_code()
        sender = services.known_sender(_signed_in())
        if sender is not None:  # a signed-in resident's own, still editable
            form.name.data, form.email.data = sender
    return form


def _area_and_initiative(endpoint: str, code: str):
    if endpoint == "intake.submit_on_initiative":
        initiative = catalogue.initiative_refs().get(code)
        return (catalogue.area_refs().get(initiative.area_code), initiative.code) if initiative else (None, None)
    return catalogue.area_refs().get(code), None


def _rate_limited(_limit):
    """Over the limit: the form again, with what was typed and why it was not sent.

    A bare error page would lose the resident's text; returning None falls back to it only
    when the page itself does not exist.
    """
    area, initiative_code = _area_and_initiative(request.endpoint, request.view_args.get("code", ""))
    if area is None:
        return None
    form = _form_for(area, initiative_code)
    page = render_template(
        "intake/submit.html", form=form, area=area, initiative_code=initiative_code, rate_limited=True
    )
    return make_response(page, 429)


def _handle(area, initiative_code=None):
    form = _form_for(area, initiative_code)
    if not form.is_submitted():
        response = make_response(
            render_template("intake/submit.html", form=form, area=area, initiative_code=initiative_code)
        )
        # The page carries a one-time token that makes it a single sending. No shared cache may
        # hand it to someone else, and a fresh visit must get a fresh one (no-cache); but Back
        # must show this very page again, so not no-store.
        response.headers["Cache-Control"] = "private, no-cache"
        return response
    if form.validate():
        initiative = catalogue.initiative_refs().get(form.initiative.data) if form.initiative.data else None
        data = services.NewSubmission(
            body=form.body.data,
            language=str(get_locale()),
            topic_area=area.code,
            initiative_id=initiative.id if initiative else None,
            name=form.name.data or None,
            email=form.email.data or None,
            client_address=request.remote_addr,  # the real client's, behind TRUSTED_PROXIES
        )
        recent = session.get(RECENT_SENDINGS)
        sending = services.send(
            data,
            user=current_user if current_user.is_authenticated else None,
            form_token=form.sending_token,
            recent=recent,
        )
        if sending.recent != (recent or {}):  # a view stored now: remembered
            session[RECENT_SENDINGS] = sending.recent
        return _confirmation(sending.receipt)
    # A form already sent is the same sending whatever its fields say now (edited after Back,
    # say) and however old its page is: show the first view rather than errors about a copy
    # that will never be stored.
    # Its security token is not needed for that (expired with the page, or void after a key
    # rotation): it shows only what this very page already sent.
    receipt = services.find_sent(form.claimed_token) if form.claimed_token else None
    if receipt is not None:
        return _confirmation(receipt)
    return render_template("intake/submit.html", form=form, area=area, initiative_code=initiative_code), 400


def _confirmation(receipt):
    if receipt.tracking_token is None:
        g.view_resent = True
        # Sent before, but its link was derived from a secret key that is gone: the reference
        # is all that can be shown.
        return render_template("intake/already_sent.html", reference=receipt.reference)
    if receipt.already_sent:
        g.view_resent = True
        flash(_("You had already sent this view; here it is."), "info")
    else:
        flash(_("Thank you. Your view has been received."), "success")
    return redirect(url_for("intake.track", reference=receipt.reference, token=receipt.tracking_token, new=1))


# One bucket per client for submitting, however many forms lead to it.
submission_limit = limiter.shared_limit(
    _submission_limit, scope="submit", methods=["POST"], deduct_when=_submission_stored, on_breach=_rate_limited
)


# The form checks its own CSRF token, so a stale or missing token is reported on the form,
# with what the resident typed kept, instead of on a bare error page.
@bp.route("/areas/<code>/views/new", methods=["GET", "POST"])
@csrf.exempt
@submission_limit
def submit_general(code):
    area = catalogue.area_refs().get(code) or abort(404)
    return _handle(area)


@bp.route("/initiatives/<code>/views/new", methods=["GET", "POST"])
@csrf.exempt
@submission_limit
def submit_on_initiative(code):
    initiative = catalogue.initiative_refs().get(code) or abort(404)
    return _handle(catalogue.area_refs()[initiative.area_code], initiative.code)


@bp.get("/track/<reference>/<token>")
def track(reference, token):
    """The sender's own page for their view, reached by its secret link."""
    sub = _tracked_or_404(reference, token)
    return _tracking_page(sub, token, is_new=request.args.get("new") == "1")


def _tracked_or_404(reference, token):
    # Our tokens are URL-safe ASCII; anything else is no link of ours (and the constant-time
    # comparison under find_tracked refuses to compare non-ASCII text at all).
    if not token.isascii():
        abort(404)
    return services.find_tracked(reference, token) or abort(404)


def _signed_in():
    return current_user if current_user.is_authenticated else None


def _tracking_page(sub, token, *, is_new=False, feedback_form=None, status=200):
    view = public.tracked(sub)
    link = services.account_link(sub, _signed_in())
    if feedback_form is None and view.asks_feedback:
        feedback_form = AnswerFeedbackForm(formdata=None)
    response = make_response(
        render_template(
            "intake/track.html",
            view=view,
            token=token,
            is_new=is_new,
            feedback_form=feedback_form,
            account_link=link,
            AccountLink=services.AccountLink,
            attach_form=AttachForm(formdata=None) if link is services.AccountLink.ADDABLE else None,
            VERDICT_LABELS=VERDICT_LABELS,
        ),
        status,
    )
    # The secret link must not leak to other sites or caches.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _back_to_tracking(reference, token, anchor=None):
    response = redirect(url_for(".track", reference=reference, token=token, _anchor=anchor))
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


# The form checks its own security token, so an expired one is reported on the form with the
# comment kept, instead of on a bare error page.
@bp.post("/track/<reference>/<token>/feedback")
@csrf.exempt
def give_feedback(reference, token):
    """ "Did this answer your point?": asked once on the tracking page."""
    sub = _tracked_or_404(reference, token)
    form = AnswerFeedbackForm()
    if public.sender_feedback(sub.id) is not None:
        flash(_("You already told us whether the answer helped. Thank you: it can be said only once."), "info")
        return _back_to_tracking(sub.reference, token, "feedback")
    if not form.validate():
        return _tracking_page(sub, token, feedback_form=form, status=400)
    try:
        services.give_feedback(sub.id, form.verdict.data, form.comment.data, user=_signed_in())
    except services.FeedbackAlreadyGiven:
        flash(_("You already told us whether the answer helped. Thank you: it can be said only once."), "info")
    except services.NothingToJudge:
        flash(_("Your view has no answer yet, so there is nothing to say about it yet."), "error")
    else:
        flash(_("Thank you. The bureau will read what you told us."), "success")
    return _back_to_tracking(sub.reference, token, "feedback")


@bp.post("/track/<reference>/<token>/add-to-account")
def add_to_account(reference, token):
    """A signed-in resident adds a view they sent without an account to it, by its tracking link."""
    sub = _tracked_or_404(reference, token)
    form = AttachForm()
    if form.validate():
        try:
            if services.attach(sub.id, current_user):
                flash(_("This view is now in your account, listed under “My views”."), "success")
            else:
                flash(_("This view is already in your account."), "info")
        except services.AttachRefused as refused:
            flash(_attach_refusal(refused.link), "error")
    return _back_to_tracking(sub.reference, token, "account")


def _attach_refusal(link):
    if link is services.AccountLink.ANOTHER_ACCOUNT:
        return _("This view is already in another account, so it cannot be added to yours.")
    if link is services.AccountLink.VERIFY_FIRST:
        return _(
            "Please confirm your e-mail address first, with the link in the message we sent you; then you can add this view to your account."
        )
    if current_user.is_authenticated:
        return _("Views can be added only to a resident's account, not to a staff account.")
    return _("Please sign in to add this view to your account.")


@bp.route("/mail/confirm/<reference>/<token>", methods=["GET", "POST"])
def confirm_mail(reference, token):
    """The receipt's link: the sender wants updates by e-mail. A page with a button, so that a
    mail scanner opening the link confirms nothing."""
    sub = services.find_for_mail(reference, token, mail_links.confirms) or abort(404)
    done = sub.mail_confirmed_at is not None
    if request.method == "POST":
        services.confirm_mail(sub.id)
        done = True
    response = make_response(render_template("intake/confirm_mail.html", reference=sub.reference, done=done))
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "private, no-store"
    return response


# A mail client's one-click unsubscribe (RFC 8058) POSTs "List-Unsubscribe=One-Click" with no
# session and no form token: the link's own token is what proves it came from our message.
@bp.route("/mail/unsubscribe/<int:message_id>/<token>", methods=["GET", "POST"])
@csrf.exempt
def unsubscribe(message_id, token):
    if request.method == "POST":
        if not services.unsubscribe(message_id, token):
            abort(404)
        done = True
    else:
        done = False
        if not services.unsubscribe_link_is_valid(message_id, token):
            abort(404)
    response = make_response(render_template("intake/unsubscribe.html", done=done))
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "private, no-store"
    return response
