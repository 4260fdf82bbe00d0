"""Every Flask extension, created unbound here and bound in create_app (avoids import cycles)."""

import copy
import re

from flask import Flask, current_app, has_app_context
from flask_babel import Babel
from flask_caching import Cache
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Named constraints so Alembic migrations are identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate(compare_type=True, render_as_batch=True)
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
# The public pages' shared cache, bound by web/public_cache.configure (its only user).
cache = Cache()


class _AppLimiter(Limiter):
    """The limiter state of one app: its storage, its fallback, its outage flag.

    It reports an unreachable limit store once per outage, on the app's own logger (which
    reaches the server log; Flask-Limiter's logger has no handler unless one is configured),
    and once more when the store answers again.
    """

    def _check_request_limit(self, callable_name=None, in_middleware=True):
        was_down = self._storage_dead
        try:
            super()._check_request_limit(callable_name=callable_name, in_middleware=in_middleware)
        finally:
            if self._storage_dead and not was_down:
                current_app.logger.error(
                    "Rate-limit store %s is unreachable: limits are now counted in this process's "
                    "memory only (each worker alone) until it answers again.",
                    _safe_uri(current_app),
                )
            elif was_down and not self._storage_dead:
                current_app.logger.warning(
                    "Rate-limit store %s answers again: limits are shared again.", _safe_uri(current_app)
                )


def _safe_uri(app: Flask) -> str:
    # Never log a password that may be in the URL.
    return re.sub(r"//[^@/]*@", "//***@", str(app.config.get("RATELIMIT_STORAGE_URI", "")))


class SharedLimiter(Limiter):
    """The limiter views decorate, with its state kept per app.

    Flask-Limiter keeps its storage, fallback flags and settings on the extension object, so
    one module-level object bound to two apps would count both in the last app's storage and
    with the first app's settings. Here the decorators register on this object, and each app
    gets its own `_AppLimiter` (in `app.extensions["app_limiter"]`) that shares those
    registrations: two app objects behave like two processes, sharing counts only through
    Redis.

    Flask-Limiter has no public way to share registrations between two Limiter objects, so
    this leans on three of its private attributes (`_marked_for_limiting`, `_request_filters`
    here, `_storage_dead` in `_AppLimiter`) and on `_check_request_limit`, the method its
    `before_request` hook calls. The version is pinned; tests/test_limits.py covers each.
    """

    def init_app(self, app: Flask) -> None:
        options = dict(app.config.get("RATELIMIT_STORAGE_OPTIONS") or {})
        if str(app.config.get("RATELIMIT_STORAGE_URI", "")).startswith(("redis://", "rediss://", "redis+")):
            # A dead or black-holed Redis must answer within this, not hold a resident's request.
            timeout = float(app.config.get("RATELIMIT_STORAGE_TIMEOUT", 0.5))
            options.setdefault("socket_connect_timeout", timeout)
            options.setdefault("socket_timeout", timeout)
        per_app = _AppLimiter(key_func=self._key_func, storage_options=options)
        # A shallow copy shares the decorated limits and exemptions (the same dicts); the app's
        # own application and default limits (none here) are set on the copy alone.
        per_app.limit_manager = copy.copy(self.limit_manager)
        per_app.limit_manager.set_application_limits([])
        per_app.limit_manager.set_default_limits([])
        per_app._marked_for_limiting = self._marked_for_limiting
        per_app._request_filters = self._request_filters
        per_app.init_app(app)
        app.extensions["app_limiter"] = per_app

    @staticmethod
    def for_app(app: Flask | None = None) -> _AppLimiter | None:
        if app is None:
            if not has_app_context():
                return None
            app = current_app
        return app.extensions.get("app_limiter")

    # What the decorators and callers reach on this object is answered by the current app's.

    def _check_request_limit(self, callable_name=None, in_middleware=True):
        per_app = self.for_app()
        if per_app is not None and per_app.enabled:
            per_app._check_request_limit(callable_name=callable_name, in_middleware=in_middleware)

    def identify_request(self) -> str:
        per_app = self.for_app()
        return per_app.identify_request() if per_app is not None else ""

    def reset(self) -> None:
        self.for_app().reset()

    @property
    def storage(self):
        return self.for_app().storage

    @property
    def limiter(self):
        return self.for_app().limiter

    @property
    def current_limit(self):
        return self.for_app().current_limit

    @property
    def current_limits(self):
        return self.for_app().current_limits


limiter = SharedLimiter(key_func=get_remote_address)
