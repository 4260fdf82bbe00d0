"""The Smart City Feedback application: create_app() wires the parts together.

The layout (README, "Layout"): wiring here and in commands.py, worker.py and extensions.py; the
kernel (models, workflow, database, reference data, the public projection); pure text code in
text/; web plumbing in web/; and one package per feature.
"""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask

from config import INSTANCE_DIR, Config

from . import commands
from .admin import bp as admin_bp
from .auth import bp as auth_bp
from .auth import safety
from .auth.login import configure_login
from .bureau import bp as bureau_bp
from .catalogue import bp as catalogue_bp
from .extensions import babel, csrf, db, limiter, login_manager, migrate
from .intake import bp as intake_bp
from .kernel import task_queue
from .kernel.database import configure_engine
from .kernel.private_files import make_private_dir, read_or_create_secret
from .mail import delivery as mail_delivery  # noqa: F401 - the outbox's subscriptions, in every process that writes
from .moderation import bp as moderation_bp
from .public import bp as public_bp
from .routing import tasks as routing_tasks  # noqa: F401 - its tasks and event handlers (run here in immediate mode)
from .web import errors, i18n, input_guard, public_cache, security, templating


def create_app(config: type | dict | None = None) -> Flask:
    app = Flask(__name__, template_folder="../templates", instance_path=str(INSTANCE_DIR))
    make_private_dir(INSTANCE_DIR)  # holds the secret key and the SQLite database
    app.config.from_object(Config)
    if isinstance(config, dict):
        app.config.update(config)
    elif config is not None:
        app.config.from_object(config)
    ensure_secret_key(app)
    register_security(app)
    register_input_guard(app)
    register_extensions(app)
    register_blueprints(app)
    register_template_helpers(app)
    register_error_pages(app)
    register_commands(app)
    check_production_safety(app)
    return app


def ensure_secret_key(app: Flask) -> None:
    """Single-node convenience: keep a generated key under instance/ when none is configured.

    Whether the key came from the environment is recorded: that marks a production
    deployment (see safety.py).
    """
    configured = app.config.get("SECRET_KEY")
    app.config["SECRET_KEY_FROM_ENVIRONMENT"] = bool(configured) and configured == os.environ.get("SECRET_KEY")
    if not configured:
        app.config["SECRET_KEY"] = read_or_create_secret(Path(app.instance_path) / "secret_key")


def check_production_safety(app: Flask) -> None:
    safety.check_production_safety(app)


def register_security(app: Flask) -> None:
    security.register(app)


def register_input_guard(app: Flask) -> None:
    input_guard.register(app)


def register_extensions(app: Flask) -> None:
    db.init_app(app)
    with app.app_context():
        configure_engine(db.engine, app.config["SQLITE_BUSY_TIMEOUT_MS"])
    migrate.init_app(app, db, directory=str(app.root_path + "/../migrations"))
    csrf.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale)
    limiter.init_app(app)
    public_cache.configure(app)
    login_manager.init_app(app)
    configure_login(login_manager)
    task_queue.configure(app)


def register_blueprints(app: Flask) -> None:
    app.register_blueprint(catalogue_bp)
    app.register_blueprint(intake_bp)
    app.register_blueprint(public_bp)
    app.register_blueprint(auth_bp, url_prefix="/account")
    app.register_blueprint(moderation_bp, url_prefix="/moderation")
    app.register_blueprint(bureau_bp, url_prefix="/bureau")
    app.register_blueprint(admin_bp, url_prefix="/admin")


def register_template_helpers(app: Flask) -> None:
    templating.register(app)


def register_error_pages(app: Flask) -> None:
    errors.register(app)


def register_commands(app: Flask) -> None:
    commands.register(app)
