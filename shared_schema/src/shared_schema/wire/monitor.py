"""A monitor's Celery app (Flower): ``celery -A shared_schema.wire.monitor flower``.

A monitor needs none of a system's code or settings: it reads every system's task events (the
shared ``celeryev`` exchange) and the results, from ``CELERY_BROKER_URL`` and
``CELERY_RESULT_BACKEND``, which Celery reads from the environment. Loading A's app instead
would load Django through Celery's fix-up, and with it A's secret key and database URL.

Its remote control (Flower's worker pages, rate limits, shutdown) goes to the one system named
by ``CROSSLINK_MONITOR_SYSTEM`` (a system's prefix, e.g. ``system_a``): its control exchange is
that system's (shared_schema.wire.control), which the monitor's broker user may use, and no
other system's worker obeys it. Unset, Celery's default ``celery.pidbox``, where no worker on the
wire listens.
https://docs.celeryq.dev/en/stable/userguide/configuration.html#control-exchange
"""

import os

from celery import Celery

app = Celery("monitor")
app.conf.update(
    # JSON only: pickle on a broker shared between systems is remote code execution.
    accept_content=["json"],
    result_accept_content=["json"],
    task_serializer="json",
    result_serializer="json",
    control_exchange=os.environ.get("CROSSLINK_MONITOR_SYSTEM") or "celery",
)
