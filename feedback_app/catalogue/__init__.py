from flask import Blueprint

bp = Blueprint("catalogue", __name__)

from . import digest, follow, views  # noqa: E402,F401
