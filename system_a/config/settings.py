"""System A's settings, all from the environment.

Variable names are shared with System B, the compose file, the Makefile, CI and the tests.
Defaults point at services on localhost so ``make demo`` and ``make test`` work on a machine
that runs RabbitMQ, Redis and PostgreSQL. Secrets have no production default: without
``DJANGO_DEBUG=true``, ``DJANGO_SECRET_KEY`` must be set.
"""

import os
import tempfile
from pathlib import Path

import dj_database_url

from config.env import env_bool, env_choice, env_int, env_list, env_str
from shared_schema.names import QUEUE_SYSTEM_A
from shared_schema.queues import SYSTEM_A_QUEUE
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
    "files",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "files:list"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env_str("DJANGO_STATIC_ROOT", str(BASE_DIR / "staticfiles"))

# The shared volume both systems see. A writes uploads here; B reads them and writes outputs.
STORAGE_ROOT = Path(
    env_str("CROSSLINK_STORAGE_ROOT", os.path.join(tempfile.gettempdir(), "crosslink-storage"))
).resolve()
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
        "rest_framework.authentication.TokenAuthentication",
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

# --- Sweeper: nothing lost, nothing stuck (files/sweeper.py, docs/reliability.md) ------------

# How often beat asks A's worker to sweep, in seconds.
SWEEP_INTERVAL_S = env_int("CROSSLINK_SWEEP_INTERVAL", default=60)
# A file PENDING this long was not sent (the broker was down at upload): send it.
PENDING_STALE_AFTER_S = env_int("CROSSLINK_PENDING_STALE_AFTER", default=60)
# A file PROCESSING this long is looked up in the result backend: an outcome whose callback was
# lost is applied.
PROCESSING_STALE_AFTER_S = env_int("CROSSLINK_PROCESSING_STALE_AFTER", default=300)
# With no outcome this long after it was sent, the attempt is given up. Longer than B's hard
# time limit plus the time a file may wait in the queue.
PROCESSING_DEADLINE_S = env_int("CROSSLINK_PROCESSING_DEADLINE", default=2 * 3600)
# What to do at the deadline: "fail" (FAILED, NO_OUTCOME; the user may retry) or "retry" (a new
# attempt, up to CROSSLINK_MAX_ATTEMPTS, then FAILED).
STALE_POLICY = env_choice("CROSSLINK_STALE_POLICY", choices=("fail", "retry"), default="fail")
MAX_ATTEMPTS = env_int("CROSSLINK_MAX_ATTEMPTS", default=3)

CELERY_BEAT_SCHEDULE = {
    "file-sweep": {
        "task": "system_a.file_sweep",
        "schedule": float(SWEEP_INTERVAL_S),
        # A sweep that waited longer than one interval (A's worker was down) is superseded by
        # the next one: let it expire instead of piling up.
        "options": {"queue": QUEUE_SYSTEM_A, "expires": float(SWEEP_INTERVAL_S)},
    },
}
