"""System A's Celery application: ``celery -A config worker``.

Configuration comes from Django settings under the ``CELERY_`` namespace, as in Celery's own
``examples/django``; what every system on the wire shares (queues, peers, dead-lettering) from
``shared_schema.wire``.
"""

import os
from typing import Any

from celery.signals import task_prerun

from config import telemetry
from shared_schema.wire import WireCelery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = WireCelery("system_a")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
telemetry.celery_setup(app)  # log context, traces, metrics: docs/observability.md


@task_prerun.connect
def _database_connection_checked(**_: Any) -> None:
    """Give each task what Django gives each request: a persistent, health-checked connection.

    Celery's Django fix-up closes every database connection before and after every task unless
    CELERY_DB_REUSE_MAX is set, which makes each callback pay for a new PostgreSQL connection
    (celery/fixups/django.py, ``close_database``). Settings raise that limit; this restores
    Django's own rule instead: drop a connection that errored, failed its health check or
    outlived CONN_MAX_AGE, keep the rest.
    https://docs.djangoproject.com/en/5.2/ref/databases/#persistent-connections
    """
    from django.db import close_old_connections

    close_old_connections()
