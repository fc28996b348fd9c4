"""System A's settings, all from the environment.

Variable names are shared with System B, the compose file, the Makefile, CI and the tests.
Defaults point at services on localhost so ``make demo`` and ``make test`` work on a machine
that runs RabbitMQ, Redis and PostgreSQL. Secrets have no production default: without
``DJANGO_DEBUG=true``, ``DJANGO_SECRET_KEY`` must be set.
"""

import os
import tempfile
from datetime import timedelta
from pathlib import Path

import dj_database_url

from config.env import (
    env_bool,
    env_choice,
    env_int,
    env_list,
    env_str,
    storage_location_checked,
)
from shared_schema.names import QUEUE_SYSTEM_A
from shared_schema.payloads import FileFormat
from shared_schema.queues import SYSTEM_A_QUEUE
from shared_schema.storage import store_is_s3
from shared_schema.wire import common_settings

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env_str("DJANGO_SECRET_KEY", "insecure-local-development-key" if DEBUG else None)
ALLOWED_HOSTS = env_list(
    "DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "axes",
    "files",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "config.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Before CSRF's check, which reads the body of every POST (docs/security.md).
    "files.uploads.RequestBodyLimitMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: turns a locked-out login into axes' 429 response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/crosslink"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", default=60),
        conn_health_checks=True,
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Brute-force protection and API tokens (docs/security.md) ---------------------------------

# django-axes counts failed logins in the database, so every web process and host shares the
# count; its backend comes first and refuses a locked-out login before any password is checked.
# It covers every authenticate() call: /login/, the admin's login and /api/token/.
AUTHENTICATION_BACKENDS = [
    "config.auth.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("CROSSLINK_LOGIN_FAILURE_LIMIT", default=5)
# Locked per user name and client address together: a guesser is stopped without letting anyone
# lock a user out from elsewhere. Unlocked after the cool-off (or `manage.py axes_reset`).
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_COOLOFF_TIME = timedelta(seconds=env_int("CROSSLINK_LOGIN_COOLOFF", default=15 * 60))
AXES_RESET_ON_SUCCESS = True
AXES_HTTP_RESPONSE_CODE = 429
# The client address is REMOTE_ADDR (django-ipware is not installed): behind a proxy, every
# client has the proxy's address, which makes the lockout per user name; see docs/security.md.
# A token is refused once this old; /api/token/ then issues a new one.
TOKEN_TTL_S = env_int("CROSSLINK_TOKEN_TTL", default=7 * 24 * 3600)

# --- Request bodies and per-user upload limits (files/uploads.py) ----------------------------

# Every route but the upload routes refuses a declared body larger than this, before reading it.
MAX_REQUEST_BYTES = env_int("CROSSLINK_MAX_REQUEST_BYTES", default=256 * 1024)
UPLOAD_ROUTES = frozenset({"files:list", "api:file-list"})
# Per user: files sent and not finished (429 beyond), and bytes of uploads kept (413 beyond).
USER_MAX_IN_FLIGHT = env_int("CROSSLINK_USER_MAX_IN_FLIGHT", default=20)
USER_MAX_STORED_BYTES = env_int("CROSSLINK_USER_MAX_STORED_BYTES", default=20 * 1024**3)

# --- HTTPS (docs/security.md) -----------------------------------------------------------------

# On unless DEBUG: A runs behind a proxy that terminates TLS and sets X-Forwarded-Proto (and
# strips any the client sent). DJANGO_HTTPS=false only for a plain-HTTP demo on localhost.
HTTPS = env_bool("DJANGO_HTTPS", default=not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", default=HTTPS)
# Health probes come from inside, over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", default=365 * 24 * 3600 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=HTTPS)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", default=HTTPS)

# /healthz asks the broker and the store at most this often; in between it answers from the
# last check.
HEALTH_BROKER_CACHE_S = env_int("CROSSLINK_HEALTH_BROKER_CACHE", default=5)

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "files:list"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env_str("DJANGO_STATIC_ROOT", str(BASE_DIR / "staticfiles"))

# Where stored files live (shared_schema.storage; files/storage.py opens it): a directory every
# system mounts (the default), or s3://bucket/prefix for S3-compatible object storage, with the
# endpoint and credentials from the standard AWS_* variables (AWS_ENDPOINT_URL,
# AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION) that boto3 reads itself.
# A writes uploads here; B reads them and writes outputs.
_storage = env_str(
    "CROSSLINK_STORAGE_ROOT", os.path.join(tempfile.gettempdir(), "crosslink-storage")
)
STORAGE_ROOT: Path | str = (
    storage_location_checked(_storage) if store_is_s3(_storage) else Path(_storage).resolve()
)
MAX_UPLOAD_BYTES = env_int("CROSSLINK_MAX_UPLOAD_BYTES", default=2 * 1024**3)
# Uploads above this size stream to a temporary file instead of memory.
# (A request whose Content-Length already exceeds MAX_UPLOAD_BYTES is refused before its body is
# read at all: files/uploads.py.)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024**2

# --- JSON API (files/api/) ----------------------------------------------------------------------

REST_FRAMEWORK = {
    # Token first: an unauthenticated request gets 401 with "WWW-Authenticate: Token", which
    # SessionAuthentication alone cannot send (it would be 403).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "files.api.authentication.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON only: the browsable API needs static files that production does not serve.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "files.api.errors.api_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "crosslink System A",
    "DESCRIPTION": "Upload files for System B to process, follow them, retry failures and "
    "download the normalized output.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Separate request and response components, so a multipart upload is described as binary.
    "COMPONENT_SPLIT_REQUEST": True,
    # One name for the one choice set (a file's format and its output's), so the schema check
    # (drf_spectacular.W001) and `check --deploy` stay clean.
    "ENUM_NAME_OVERRIDES": {"FileFormatEnum": [f.value for f in FileFormat]},
}

# --- Seeing what happens (config/telemetry.py, docs/observability.md) --------------------------

# Read where they are used (shared_schema.telemetry, prometheus_client, the OpenTelemetry SDK);
# named here, checked early, so that this file lists every variable A reads.
LOG_FORMAT = env_choice("CROSSLINK_LOG_FORMAT", choices=("text", "json"), default="text")
METRICS_MULTIPROC_DIR = env_str("PROMETHEUS_MULTIPROC_DIR", "")
OTLP_ENDPOINT = env_str("OTEL_EXPORTER_OTLP_ENDPOINT", "")

# Every line carries the file, attempt, task and trace it is about; JSON lines when
# CROSSLINK_LOG_FORMAT=json (shared_schema.telemetry, docs/observability.md). Celery's worker
# installs the same on the handlers it sets up (config/telemetry.py).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "shared_schema.telemetry.LogContextFilter"}},
    "formatters": {"crosslink": {"()": "shared_schema.telemetry.log_formatter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "crosslink",
            "filters": ["context"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("DJANGO_LOG_LEVEL", "INFO")},
    # runserver's request lines, in the same format as the rest.
    "loggers": {"django.server": {"handlers": ["console"], "level": "INFO", "propagate": False}},
}

# --- Celery (read by config/celery.py through the CELERY_ namespace) ---------------------------

CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", "redis://127.0.0.1:6379/0")
# The settings every system on the wire shares (shared_schema.wire.common_settings: JSON only,
# persistent messages, publisher confirms, late acks, A's own quorum queue and no other, the
# dead-lettering consumer, task events only when a monitor runs), under Django's CELERY_
# namespace; A's own settings follow.
for _name, _value in common_settings(
    queue=SYSTEM_A_QUEUE, task_events=env_bool("CROSSLINK_TASK_EVENTS", default=False)
).items():
    globals()[f"CELERY_{_name.upper()}"] = _value
# Dispatch runs inside a web request: fail fast when the broker is down (the file stays
# PENDING and the sweeper sends it later) rather than hold the request for minutes.
CELERY_BROKER_CONNECTION_TIMEOUT = env_int("CROSSLINK_BROKER_CONNECT_TIMEOUT", default=4)
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5}
# Keep database connections across tasks (Celery's Django fix-up otherwise reconnects for every
# task); config/celery.py checks them before each task the way Django does per request.
CELERY_DB_REUSE_MAX = env_int("CROSSLINK_DB_REUSE_MAX", default=1000)
# A's tasks are short (one guarded UPDATE), so each worker process may hold a few messages
# (Celery's default, 4) instead of waiting out a broker round trip between callbacks. Held
# messages are unacknowledged: if the worker dies they are redelivered, not lost (past the
# queue's delivery limit, dead-lettered, and the sweeper applies B's stored outcome).
# https://docs.celeryq.dev/en/stable/userguide/optimizing.html#prefetch-limits
CELERY_WORKER_PREFETCH_MULTIPLIER = 4

# --- Outbox relay and sweeper: nothing lost, nothing stuck (docs/reliability.md) --------------

# How often beat asks A's worker to run the outbox relay (files.services.file_relay), seconds:
# it sends claimed attempts whose sender died before the broker confirmed them, and PENDING
# files whose send failed. An empty run is one indexed query.
RELAY_INTERVAL_S = env_int("CROSSLINK_RELAY_INTERVAL", default=5)
# A claimed attempt with no confirmed send this long after its claim is the relay's: longer
# than a send normally takes (connect timeout and publish retries), so the relay rarely sends
# a message its original sender is still publishing (harmless if it does: same task id).
RELAY_UNSENT_AFTER_S = env_int("CROSSLINK_RELAY_UNSENT_AFTER", default=10)
# How often beat asks A's worker to sweep, in seconds.
SWEEP_INTERVAL_S = env_int("CROSSLINK_SWEEP_INTERVAL", default=15)
# A file PENDING this long that the relay did not send (beat not running the relay): send it.
PENDING_STALE_AFTER_S = env_int("CROSSLINK_PENDING_STALE_AFTER", default=60)
# A file PROCESSING this long is looked up in the result backend: an outcome whose callback was
# lost is applied. One Redis read per such file per sweep.
PROCESSING_STALE_AFTER_S = env_int("CROSSLINK_PROCESSING_STALE_AFTER", default=30)
# B's time limits, read under the names B reads them, with B's defaults: no run of B lasts
# longer than the hard limit (the pool kills it).
SOFT_TIME_LIMIT_S = env_int("CROSSLINK_SOFT_TIME_LIMIT", default=30 * 60)
HARD_TIME_LIMIT_S = env_int("CROSSLINK_HARD_TIME_LIMIT", default=SOFT_TIME_LIMIT_S + 60)
# With no outcome this long after it was sent, the attempt is given up: B's hard time limit,
# plus time for the message to wait in B's queue. A dead-lettered message does not wait for
# this (B's dead-letter watcher reports it as worker_lost at once); this is for a message lost
# with no trace at all.
PROCESSING_DEADLINE_S = env_int(
    "CROSSLINK_PROCESSING_DEADLINE", default=HARD_TIME_LIMIT_S + 10 * 60
)
# What to do with an attempt that ended without a verdict on the file (no outcome by the
# deadline, or worker_lost): "retry" (default: a new attempt, up to CROSSLINK_MAX_ATTEMPTS,
# then FAILED) or "fail" at the deadline (FAILED, NO_OUTCOME; the user may retry). A dead-letter
# report (worker_lost) always gets new attempts up to the limit.
STALE_POLICY = env_choice("CROSSLINK_STALE_POLICY", choices=("fail", "retry"), default="retry")
MAX_ATTEMPTS = env_int("CROSSLINK_MAX_ATTEMPTS", default=3)

CELERY_BEAT_SCHEDULE = {
    "file-relay": {
        "task": "system_a.file_relay",
        "schedule": float(RELAY_INTERVAL_S),
        "options": {"queue": QUEUE_SYSTEM_A, "expires": float(RELAY_INTERVAL_S)},
    },
    "file-sweep": {
        "task": "system_a.file_sweep",
        "schedule": float(SWEEP_INTERVAL_S),
        # A sweep that waited longer than one interval (A's worker was down) is superseded by
        # the next one: let it expire instead of piling up.
        "options": {"queue": QUEUE_SYSTEM_A, "expires": float(SWEEP_INTERVAL_S)},
    },
}
