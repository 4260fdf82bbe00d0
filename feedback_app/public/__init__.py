from flask import Blueprint

bp = Blueprint("public", __name__)

from . import feeds, open_data, search, statistics, views  # noqa: E402,F401
