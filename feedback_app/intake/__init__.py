from flask import Blueprint

bp = Blueprint("intake", __name__)

from . import recovery, views  # noqa: E402,F401
