"""``/healthz``: can this process reach its database, its broker and its store?

For load balancers and compose healthchecks: no login, no details beyond ok / unavailable (the
reason goes to the log). 200 when all three answer, 503 when any does not.
"""

import logging
import threading
import time
from collections.abc import Callable

from celery import current_app
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from files.storage import storage_store
from shared_schema.errors import FileMissing

logger = logging.getLogger(__name__)

OK = "ok"
UNAVAILABLE = "unavailable"


def database_check() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        logger.exception("Health check: the database did not answer")
        return UNAVAILABLE
    return OK


_broker_lock = threading.Lock()
_broker_last: tuple[float, str] | None = None
"""When the broker was last asked (time.monotonic()) and what it said."""


def broker_check() -> str:
    """The broker's state, asked at most once per HEALTH_BROKER_CACHE_S per process.

    Each check opens a connection (AMQP handshake and login); a probe or anyone else polling
    /healthz must not turn into a connection per request against the broker.
    """
    global _broker_last
    with _broker_lock:
        _broker_last = _fresh(_broker_last, _broker_ask)
        return _broker_last[1]


_storage_lock = threading.Lock()
_storage_last: tuple[float, str] | None = None

STORAGE_PROBE_KEY = "outputs/.healthz"
"""A key nothing is stored under, among the outputs A may read (under least privilege too)."""


def storage_check() -> str:
    """The store's state, asked at most once per HEALTH_BROKER_CACHE_S per process, like the
    broker's: for object storage each check is a request."""
    global _storage_last
    with _storage_lock:
        _storage_last = _fresh(_storage_last, _storage_ask)
        return _storage_last[1]


def _fresh(last: tuple[float, str] | None, ask: Callable[[], str]) -> tuple[float, str]:
    """``last`` while it is younger than HEALTH_BROKER_CACHE_S, else a new answer of ``ask``."""
    if last is not None and time.monotonic() - last[0] < settings.HEALTH_BROKER_CACHE_S:
        return last
    state = ask()
    return (time.monotonic(), state)


def _broker_ask() -> str:
    # A fresh connection, not one from the publish pool: the check must see the broker as it is
    # now. Connection.connect() tries once, bounded by broker_connection_timeout.
    try:
        with current_app.connection_for_write() as conn:
            conn.connect()
    except Exception:
        logger.exception("Health check: the broker did not answer")
        return UNAVAILABLE
    return OK


def _storage_ask() -> str:
    # One read of a key that holds nothing: "no such file" is the store answering (one open()
    # of a directory, one GET of a bucket). Under least privilege a missing object is a 404
    # only to a user that may list the bucket; a 403 here says A's policy lacks that, which
    # also turns a download of a missing output into a 503.
    try:
        with storage_store().open_read(STORAGE_PROBE_KEY):
            pass
    except FileMissing:
        return OK
    except Exception:
        logger.exception("Health check: the store did not answer")
        return UNAVAILABLE
    return OK


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {"database": database_check(), "broker": broker_check(), "storage": storage_check()}
    healthy = all(value == OK for value in checks.values())
    return JsonResponse(checks, status=200 if healthy else 503)
