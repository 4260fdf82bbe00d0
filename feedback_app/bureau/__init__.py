from flask import Blueprint

bp = Blueprint("bureau", __name__)

from . import dashboard_views, export_views, views  # noqa: E402,F401
