"""``/healthz``: can this process reach its database and its broker?

For load balancers and compose healthchecks: no login, no details beyond ok / unavailable (the
reason goes to the log). 200 when both answer, 503 when either does not.
"""

import logging
import threading
import time

from celery import current_app
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

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
        now = time.monotonic()
        if _broker_last is not None and now - _broker_last[0] < settings.HEALTH_BROKER_CACHE_S:
            return _broker_last[1]
        state = _broker_ask()
        _broker_last = (time.monotonic(), state)
        return state


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


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {"database": database_check(), "broker": broker_check()}
    healthy = all(value == OK for value in checks.values())
    return JsonResponse(checks, status=200 if healthy else 503)
