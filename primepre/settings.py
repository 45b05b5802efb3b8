"""Settings for primepre, read from the environment (12-factor).

Every value a deploy changes comes from an environment variable; `.env.example` lists them all.
A `.env` file beside manage.py is read when present, for local work only.
"""

import os
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from primepre.local_key import local_secret_key
from primepre.logging import build_logging

BASE_DIR = Path(__file__).resolve().parent.parent


class _SetValues(Mapping):
    """The environment without its empty values: `NAME=` (as .env.example leaves most names)
    means "the default", not "the empty string"."""

    def __init__(self, source: Mapping[str, str]):
        self._source = source

    def __getitem__(self, name: str) -> str:
        value = self._source[name]
        if value == "":
            raise KeyError(name)
        return value

    def __iter__(self):
        return (name for name, value in self._source.items() if value != "")

    def __len__(self) -> int:
        return sum(1 for _ in self)


# ENV_FILE: another file than .env beside manage.py (a second local installation, tests).
ENV_FILE = Path(os.environ.get("ENV_FILE") or BASE_DIR / ".env")
environ.Env.read_env(ENV_FILE, overwrite=False)
env = environ.Env()
env.ENVIRON = _SetValues(os.environ)

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set the SECRET_KEY environment variable "
            "(DEBUG is off, so there is no default key)."
        )
    # Local development only: DEBUG is on and no key was given. A random key of this
    # installation, kept in its .env; never a key anyone can read in the repository.
    SECRET_KEY = local_secret_key(ENV_FILE)

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
RENDER_EXTERNAL_HOSTNAME = env.str("RENDER_EXTERNAL_HOSTNAME", default="")
if RENDER_EXTERNAL_HOSTNAME:
    ALLOWED_HOSTS.append(RENDER_EXTERNAL_HOSTNAME)

VERSION = env.str("APP_VERSION", default="") or env.str("RENDER_GIT_COMMIT", default="dev")[:12]

INSTALLED_APPS = [
    "django.contrib.admin",
    # Before django.contrib.auth, so that the project's createsuperuser command is the one run.
    "users",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_tasks",
    "django_tasks_db",
]

MIDDLEWARE = [
    "primepre.logging.RequestIdMiddleware",
    "primepre.body_limit.QueryStringLimitMiddleware",
    # Before CsrfViewMiddleware, whose check of a POST reads its form.
    "primepre.body_limit.BodyLimitMiddleware",
    "primepre.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "primepre.urls"
WSGI_APPLICATION = "primepre.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Database: DATABASE_URL, or a local SQLite file that a web process and a task worker can share
# (WAL lets readers run beside the one writer; the timeout makes a writer wait instead of failing).
SQLITE_PATH = env.str("SQLITE_PATH", default=str(BASE_DIR / "db.sqlite3"))
DATABASES = {
    "default": env.db(
        "DATABASE_URL",
        default=f"sqlite:///{SQLITE_PATH}",
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = 5
    # Queries here are many and small (500-row lookups on unique indexes): starting parallel
    # workers costs more (about 10 ms each time, measured) than it saves.
    DATABASES["default"]["OPTIONS"]["options"] = "-c max_parallel_workers_per_gather=0"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# A shared cache: login throttling must count across processes, so the default is the database.
CACHES = {"default": env.cache("CACHE_URL", default="dbcache://primepre_cache")}

AUTH_USER_MODEL = "users.User"
AUTHENTICATION_BACKENDS = ["users.accounts.backends.PhoneOrEmailBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# HTTP security. Render terminates TLS at its proxy and says so in X-Forwarded-Proto. Django
# does not read that header (no SECURE_PROXY_SSL_HEADER): any client can send it. gunicorn
# believes it only from the proxies FORWARDED_ALLOW_IPS names (gunicorn_config.py) and then
# marks the request https, which is what request.is_secure() reads.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# The pages of sign-in links say what to do on a refused form; elsewhere Django's page.
CSRF_FAILURE_VIEW = "users.accounts.pages.csrf_failure"
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_ALLOW_CREDENTIALS = False
CORS_URLS_REGEX = r"^/api/.*$"
CORS_EXPOSE_HEADERS = ["Content-Disposition", "X-Request-ID", "Retry-After"]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework_simplejwt.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Deny by default: a view that says nothing is staff-only.
    "DEFAULT_PERMISSION_CLASSES": ["users.web.permissions.IsStaff"],
    "DEFAULT_RENDERER_CLASSES": ["users.web.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["users.web.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "users.web.pagination.PageNumberPagination",
    "PAGE_SIZE": 25,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "users.web.errors.exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "login": env.str("LOGIN_RATE", default="30/min"),
        "password_reset": env.str("PASSWORD_RESET_RATE", default="5/hour"),
        "password_change": env.str("PASSWORD_CHANGE_RATE", default="10/hour"),
        "send_message": env.str("SEND_MESSAGE_RATE", default="30/hour"),
        # The public self-service endpoints (users.accounts.rate_limits): per client address,
        # and per phone number named in the body.
        "shipping_marks": env.str("SHIPPING_MARKS_RATE", default="30/hour"),
        "signup": env.str("SIGNUP_RATE", default="10/hour"),
        "signup_phone": env.str("SIGNUP_PHONE_RATE", default="3/hour"),
        "verify_phone": env.str("VERIFY_PHONE_RATE", default="20/hour"),
        "verify_phone_phone": env.str("VERIFY_PHONE_PHONE_RATE", default="10/hour"),
        "resend_verification": env.str("RESEND_VERIFICATION_RATE", default="10/hour"),
        "resend_verification_phone": env.str("RESEND_VERIFICATION_PHONE_RATE", default="5/hour"),
        "forgot_password": env.str("FORGOT_PASSWORD_RATE", default="10/hour"),
        "forgot_password_phone": env.str("FORGOT_PASSWORD_PHONE_RATE", default="5/hour"),
        "claim": env.str("CLAIM_RATE", default="20/hour"),
        "claim_phone": env.str("CLAIM_PHONE_RATE", default="10/hour"),
        # The pages of sign-in links (users.accounts.pages): every request per address, and
        # the forms sent with a live link per account.
        "sign_in_link": env.str("SIGN_IN_LINK_RATE", default="60/hour"),
        "sign_in_link_account": env.str("SIGN_IN_LINK_ACCOUNT_RATE", default="10/hour"),
    },
    "NUM_PROXIES": env.int("NUM_PROXIES", default=1 if RENDER_EXTERNAL_HOSTNAME else 0),
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"].append(
        "rest_framework.renderers.BrowsableAPIRenderer"
    )

# Rotation is off by default: the SPA keeps the refresh token of its sign-in for the whole
# session and never stores a rotated one, so blacklisting after rotation would sign it out at
# its second refresh. Clients that store the rotated token can turn it on.
JWT_ROTATE_REFRESH_TOKENS = env.bool("JWT_ROTATE_REFRESH_TOKENS", default=False)
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=7)),
    "ROTATE_REFRESH_TOKENS": JWT_ROTATE_REFRESH_TOKENS,
    "BLACKLIST_AFTER_ROTATION": JWT_ROTATE_REFRESH_TOKENS,
    "AUTH_HEADER_TYPES": ("Bearer",),
    "USER_AUTHENTICATION_RULE": "users.accounts.backends.user_can_use_api",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "primepre API",
    "DESCRIPTION": "Customer base of a logistics company: customers, Excel import and export.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema, Swagger UI and ReDoc are for staff (deny by default, as every endpoint): a
    # bearer token, or the admin's session for the pages opened in a browser.
    "SERVE_PERMISSIONS": ["users.web.permissions.IsStaff"],
    # Swagger UI and ReDoc from our own static files: no third-party script on the admin's origin.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/",
    # Choice sets several fields share, named once.
    "ENUM_NAME_OVERRIDES": {
        "PossibleDuplicateChoiceEnum": ["create", "update", "skip"],
        "RowFixActionEnum": ["fix", "skip", "include", "create", "update"],
    },
    # The statuses any request can get (405, 406, 413, 414, 415) in every operation.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "users.web.schema.add_common_responses",
    ],
}

# A password chosen by someone other than its holder (an admin's create or reset) signs in for
# this many hours, until the holder changes it.
TEMPORARY_PASSWORD_HOURS = env.int("TEMPORARY_PASSWORD_HOURS", default=72)

# Login throttling: this many wrong passwords for one identifier from one client locks that pair
# out for LOGIN_LOCKOUT_SECONDS.
LOGIN_MAX_FAILURES = env.int("LOGIN_MAX_FAILURES", default=5)
LOGIN_LOCKOUT_SECONDS = env.int("LOGIN_LOCKOUT_SECONDS", default=900)

# Customers.
PHONE_DEFAULT_REGION = env.str("PHONE_DEFAULT_REGION", default="GH")
DEFAULT_REGION = env.str("DEFAULT_REGION", default="GREATER_ACCRA")
# Generated shipping marks are "{SHIPPING_MARK_PREFIX} {FIRSTNAME6}", e.g. "PM 1 KWAME".
SHIPPING_MARK_PREFIX = env.str("SHIPPING_MARK_PREFIX", default="PM 1")

# Imports.
IMPORT_MAX_FILE_BYTES = env.int("IMPORT_MAX_FILE_BYTES", default=20 * 1024 * 1024)
IMPORT_MAX_ROWS = env.int("IMPORT_MAX_ROWS", default=100_000)
# Customers per transaction; the same as the rows of a stored chunk, so each is read once.
IMPORT_BATCH_SIZE = env.int("IMPORT_BATCH_SIZE", default=1000)
IMPORT_STALE_AFTER = env.int("IMPORT_STALE_AFTER", default=60)
IMPORT_MAX_ATTEMPTS = env.int("IMPORT_MAX_ATTEMPTS", default=5)
# Stored rows are deleted from previews never confirmed after this many hours, and from finished
# imports after this many days (their counts stay; errors.xlsx is gone with the rows).
IMPORT_KEEP_PREVIEWS_HOURS = env.int("IMPORT_KEEP_PREVIEWS_HOURS", default=48)
IMPORT_KEEP_ROWS_DAYS = env.int("IMPORT_KEEP_ROWS_DAYS", default=30)
# A running import whose process grows past this logs a warning and halves its batches.
IMPORT_MEMORY_CEILING_MB = env.int("IMPORT_MEMORY_CEILING_MB", default=250)
# Preview lists (candidates, invalid rows, duplicates, errors) hold at most this many entries;
# the counts are always complete, and the rest is paged at .../upload/{upload_id}/rows/.
IMPORT_PREVIEW_LIST_LIMIT = env.int("IMPORT_PREVIEW_LIST_LIMIT", default=1000)
# Whether a preview looks for possible duplicates (users.imports.resemblance): off, rows that
# resemble a customer are simply rows to create.
IMPORT_NEAR_DUPLICATES = env.bool("IMPORT_NEAR_DUPLICATES", default=True)
# Memory (MiB above its start) and time a spreadsheet reader process may use.
IMPORT_READER_MEMORY_MB = env.int("IMPORT_READER_MEMORY_MB", default=256)
IMPORT_READER_TIMEOUT = env.float("IMPORT_READER_TIMEOUT", default=120.0)
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

# Background tasks (Django's tasks API). "database": django-tasks-db, workers run
# `manage.py run_worker` against the same database (the default, and what the free tier runs);
# "rq": Redis through django-tasks-rq, for many workers on many machines; "immediate": in-process.
TASKS_BACKEND = env.str("TASKS_BACKEND", default="database")
REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
_TASK_BACKENDS = {
    "database": "django_tasks_db.DatabaseBackend",
    "rq": "django_tasks_rq.RQBackend",
    "immediate": "django_tasks.backends.immediate.ImmediateBackend",
}
if TASKS_BACKEND not in _TASK_BACKENDS:
    raise ImproperlyConfigured(f"TASKS_BACKEND must be one of {', '.join(_TASK_BACKENDS)}.")
TASKS = {"default": {"BACKEND": _TASK_BACKENDS[TASKS_BACKEND]}}
if TASKS_BACKEND == "rq":
    INSTALLED_APPS.append("django_rq")
    # An import of 100,000 rows takes well under a minute; an hour is the hard stop.
    RQ_QUEUES = {"default": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 3600}}

# SMS (users.messaging): where texts go. twilio (the default when its three settings are set),
# console (the default with DEBUG), file (one file per message in SMS_FILE_PATH), locmem (tests),
# disabled (the default otherwise).
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="")
TWILIO_PHONE_NUMBER = env.str("TWILIO_PHONE_NUMBER", default="")
_TWILIO_SET = all((TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_PHONE_NUMBER))
SMS_BACKEND = env.str(
    "SMS_BACKEND", default="twilio" if _TWILIO_SET else "console" if DEBUG else "disabled"
)
_SMS_BACKENDS = ("twilio", "console", "file", "locmem", "disabled")
if SMS_BACKEND not in _SMS_BACKENDS:
    raise ImproperlyConfigured(f"SMS_BACKEND must be one of {', '.join(_SMS_BACKENDS)}.")
if SMS_BACKEND == "twilio" and not _TWILIO_SET:
    raise ImproperlyConfigured(
        "SMS_BACKEND=twilio needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_PHONE_NUMBER."
    )
SMS_FILE_PATH = env.str("SMS_FILE_PATH", default="")
if SMS_BACKEND == "file" and not SMS_FILE_PATH:
    raise ImproperlyConfigured("SMS_BACKEND=file needs SMS_FILE_PATH (a directory).")
# Texts a batch (invites) sends per second at most: the provider's rate for the sending number
# (0: no pacing). Twilio queues what exceeds it, and fails what exceeds its queue.
SMS_PER_SECOND = env.float("SMS_PER_SECOND", default=10.0)
# Where invited customers go to set their password (named in the invite SMS).
APP_URL = env.str("APP_URL", default="")
PASSWORD_RESET_PIN_MINUTES = 10
PASSWORD_RESET_MAX_ATTEMPTS = 5
# PINs texted to one number per hour, at most (more requests get the same answer, no SMS).
PASSWORD_RESET_MAX_PER_HOUR = env.int("PASSWORD_RESET_MAX_PER_HOUR", default=3)
# The PIN texted at sign-up (users.accounts.verification).
PHONE_VERIFICATION_PIN_MINUTES = 10
PHONE_VERIFICATION_MAX_ATTEMPTS = 5
# Seconds before another PIN may be texted to the same account, and PINs per hour at most.
PHONE_VERIFICATION_RESEND_SECONDS = env.int("PHONE_VERIFICATION_RESEND_SECONDS", default=60)
PHONE_VERIFICATION_MAX_PER_HOUR = env.int("PHONE_VERIFICATION_MAX_PER_HOUR", default=5)

# Sign-in links (users.credentials.links): the backend's public address, which starts every link
# texted to a customer (the task worker that texts them has no request to read it from), and how
# long a link of each purpose opens its page.
SIGN_IN_LINK_BASE_URL = env.str(
    "SIGN_IN_LINK_BASE_URL",
    default=f"https://{RENDER_EXTERNAL_HOSTNAME}"
    if RENDER_EXTERNAL_HOSTNAME
    else ("http://localhost:8000" if DEBUG else ""),
)
SIGN_IN_LINK_INVITE_DAYS = env.int("SIGN_IN_LINK_INVITE_DAYS", default=7)
SIGN_IN_LINK_CONFIRM_DAYS = env.int("SIGN_IN_LINK_CONFIRM_DAYS", default=3)
SIGN_IN_LINK_RESET_MINUTES = env.int("SIGN_IN_LINK_RESET_MINUTES", default=30)
# Every text to a customer holds a sign-in link, which needs the backend's address: a backend
# that delivers texts (to a phone, a console or files) without one would fail every such text.
if SMS_BACKEND in ("twilio", "console", "file") and not SIGN_IN_LINK_BASE_URL:
    raise ImproperlyConfigured(
        f"SMS_BACKEND={SMS_BACKEND} needs SIGN_IN_LINK_BASE_URL (the backend's public address, "
        "which starts the sign-in links texted to customers)."
    )
# Hours in which a customer is texted at most one invite, however many imports, admin actions
# or commands ask (users.messaging.invites).
INVITE_RESEND_HOURS = env.int("INVITE_RESEND_HOURS", default=24)

LOGGING = build_logging(level=env.str("LOG_LEVEL", default="INFO"))
