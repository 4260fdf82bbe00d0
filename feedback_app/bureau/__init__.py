from flask import Blueprint

bp = Blueprint("bureau", __name__)

from . import views  # noqa: E402,F401
