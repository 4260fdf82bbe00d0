"""The bureau dashboard's page (the coordinator moves this route into views.py)."""

from flask import abort, render_template
from flask_login import current_user

from ..auth.login import role_required
from ..kernel.models import Role
from . import bp
from . import dashboard as bureau_dashboard


@bp.get("/dashboard")
@role_required(Role.OFFICER)
def dashboard():
    if not current_user.bureau_code:
        abort(403)  # an officer account not yet given a bureau has no figures to see
    return render_template("bureau/dashboard.html", dashboard=bureau_dashboard.build(current_user.bureau_code))
