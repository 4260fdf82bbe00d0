"""Configuration. Every setting can be overridden by an environment variable of the same name."""
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = BASE_DIR / "instance"


def _env(name, default=None):
    return os.environ.get(name, default)


def _env_float(name, default):
    return float(os.environ.get(name, default))


def _env_int(name, default):
    return int(os.environ.get(name, default))


def _env_bool(name, default):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def database_url(url: str) -> str:
    """Use psycopg 3 for plain postgresql:// URLs (SQLAlchemy would otherwise pick psycopg2)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


class Config:
    # Sessions are signed cookies, so every app node must share this key (see README).
    # When unset, create_app() keeps a generated key under instance/ for single-node use.
    SECRET_KEY = _env("SECRET_KEY")

    SQLALCHEMY_DATABASE_URI = database_url(_env("DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'feedback.db'}"))
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    SQLITE_BUSY_TIMEOUT_MS = _env_int("SQLITE_BUSY_TIMEOUT_MS", 15000)

    # Rate limits and cache live in Redis in production, so limits hold across app nodes.
    REDIS_URL = _env("REDIS_URL")
    RATELIMIT_STORAGE_URI = _env("RATELIMIT_STORAGE_URI", REDIS_URL or "memory://")
    RATELIMIT_ENABLED = _env_bool("RATELIMIT_ENABLED", True)
    SUBMISSION_RATE_LIMIT = _env("SUBMISSION_RATE_LIMIT", "10 per minute;100 per day")
    LOGIN_RATE_LIMIT = _env("LOGIN_RATE_LIMIT", "10 per minute")

    LANGUAGES = ("en", "zh_Hant")
    BABEL_DEFAULT_LOCALE = "en"
    BABEL_DEFAULT_TIMEZONE = "Asia/Hong_Kong"
    BABEL_TRANSLATION_DIRECTORIES = str(BASE_DIR / "feedback_app" / "translations")

    # A submission is routed straight to a bureau only when both the area and the bureau
    # predictions reach these probabilities; anything less waits for a moderator.
    ROUTING_AREA_THRESHOLD = _env_float("ROUTING_AREA_THRESHOLD", 0.45)
    ROUTING_BUREAU_THRESHOLD = _env_float("ROUTING_BUREAU_THRESHOLD", 0.55)
    # Training picks, per class, the probability at which cross-validated predictions reach
    # this precision; a class's threshold is never below the floors above.
    ROUTING_TARGET_PRECISION = _env_float("ROUTING_TARGET_PRECISION", 0.9)

    SUBMISSION_MIN_LENGTH = _env_int("SUBMISSION_MIN_LENGTH", 10)
    SUBMISSION_MAX_LENGTH = _env_int("SUBMISSION_MAX_LENGTH", 5000)
    PAGE_SIZE = _env_int("PAGE_SIZE", 20)

    # Demo accounts with published passwords must never exist on a public deployment.
    ALLOW_DEMO_ACCOUNTS = _env_bool("ALLOW_DEMO_ACCOUNTS", True)

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", False)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", False)
    PERMANENT_SESSION_LIFETIME = _env_int("PERMANENT_SESSION_LIFETIME", 8 * 3600)


class TestConfig(Config):
    TESTING = True
    SECRET_KEY = "test-secret-key"
    SQLALCHEMY_DATABASE_URI = _env("TEST_SQLITE_URL", "sqlite://")
    RATELIMIT_ENABLED = False
    RATELIMIT_STORAGE_URI = "memory://"
