"""The bureau dashboard's page (the coordinator moves this route into views.py), and what the
sender said of the answer on a view's page."""

from flask import abort, render_template
from flask_login import current_user

from ..auth.login import role_required
from ..kernel.models import Role
from ..web.i18n import VERDICT_LABELS
from . import bp, services
from . import dashboard as bureau_dashboard


@bp.context_processor
def _answer_feedback():
    """The bureau's pages may show what a sender said of an answer (the view's page does):
    `answer_feedback(sub_id)` reads it for the signed-in officer's bureau only (services)."""

    def answer_feedback(sub_id):
        if not current_user.is_authenticated or not current_user.has_role(Role.OFFICER):
            return None
        return services.answer_feedback(current_user, sub_id)

    return {"answer_feedback": answer_feedback, "VERDICT_LABELS": VERDICT_LABELS}


@bp.get("/dashboard")
@role_required(Role.OFFICER)
def dashboard():
    if not current_user.bureau_code:
        abort(403)  # an officer account not yet given a bureau has no figures to see
    return render_template("bureau/dashboard.html", dashboard=bureau_dashboard.build(current_user.bureau_code))
