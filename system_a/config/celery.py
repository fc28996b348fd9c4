"""System A's Celery application: ``celery -A config worker``.

Configuration comes from Django settings under the ``CELERY_`` namespace, as in Celery's own
``examples/django``; what every system on the wire shares (queues, peers, dead-lettering) from
``shared_schema.wire``.
"""

import math
import os
import time
from typing import Any

from celery.signals import before_task_publish, task_postrun, task_prerun

from config import telemetry
from shared_schema.wire import WireCelery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = WireCelery("system_a")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
telemetry.celery_setup(app)  # log context, traces, metrics: docs/observability.md


HEALTH_CHECK_AFTER_IDLE_S = 1.0
"""A connection that served a task less than this long ago is not pinged before the next one."""

_last_task_ended = -math.inf


@task_prerun.connect
def _database_connection_checked(**_: Any) -> None:
    """Give each task what Django gives each request: a persistent, health-checked connection.

    Celery's Django fix-up closes every database connection before and after every task unless
    CELERY_DB_REUSE_MAX is set, which makes each callback pay for a new PostgreSQL connection
    (celery/fixups/django.py, ``close_database``). Settings raise that limit; this restores
    Django's own rule instead: drop a connection that errored, failed its health check or
    outlived CONN_MAX_AGE, keep the rest.
    https://docs.djangoproject.com/en/5.2/ref/databases/#persistent-connections

    The health check (CONN_HEALTH_CHECKS, a ``SELECT 1`` before the first query) is skipped for
    a connection that served a task within HEALTH_CHECK_AFTER_IDLE_S, as PgBouncer skips its
    own for a server connection released moments ago (``server_check_delay``): under a stream
    of callbacks it would be a round trip per file to learn nothing. Should the database have
    restarted in that second, the task's first query fails, Django drops the connection, and
    the callback is retried (``autoretry_for`` in files.tasks).
    https://www.pgbouncer.org/config.html#server_check_delay
    """
    from django.db import close_old_connections, connections

    close_old_connections()
    if time.monotonic() - _last_task_ended < HEALTH_CHECK_AFTER_IDLE_S:
        for connection in connections.all(initialized_only=True):
            connection.health_check_done = True  # type: ignore[attr-defined]  # not in the stubs


@task_postrun.connect
def _task_ended(**_: Any) -> None:
    global _last_task_ended
    _last_task_ended = time.monotonic()


PERIODIC_TASKS = frozenset({"system_a.file_relay", "system_a.file_sweep"})


@before_task_publish.connect
def _periodic_expiry_not_dead_lettered(
    sender: str | None = None, properties: dict[str, Any] | None = None, **_: Any
) -> None:
    """Let beat's expired relay and sweep messages be dropped, not dead-lettered.

    Celery turns ``expires`` into the message's AMQP ``expiration`` too (``Celery.send_task``),
    and RabbitMQ dead-letters a message whose TTL runs out in a queue that has a dead-letter
    exchange: while A's worker is down, every interval would add one to A's dead-letter queue,
    burying the real refusals there. https://www.rabbitmq.com/docs/ttl#per-message-ttl-caveats
    Without the AMQP expiration, the message keeps Celery's own ``expires`` header, and the
    worker that finally receives it acknowledges it as expired without running it.
    """
    if sender in PERIODIC_TASKS and properties is not None:
        properties.pop("expiration", None)
