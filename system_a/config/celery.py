"""System A's Celery application: ``celery -A config worker``.

Configuration comes from Django settings under the ``CELERY_`` namespace, as in Celery's own
``examples/django``.
"""

import os
from typing import Any

from celery import Celery
from celery.app.amqp import AMQP
from celery.signals import task_prerun
from kombu import Queue

from shared_schema.names import QUEUE_SYSTEM_B

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


class PeerQueue(Queue):
    """A queue another system consumes and declares. Sending to it only checks that it exists:
    a passive declare, which needs no permission. An active declare would also bind it, and
    RabbitMQ allows that bind only to a user who may read the queue's exchange, which Celery
    names like the queue: A's broker user would then be able to consume B's work
    (deploy/rabbitmq/permissions.json). While B's queue does not exist, sending raises NOT_FOUND
    and the file stays PENDING for the sweeper, instead of the broker dropping the message as
    unroutable. https://www.rabbitmq.com/docs/access-control#authorisation
    """

    def declare(self, nowait: bool = False, channel: Any = None) -> str:
        self.queue_declare(nowait=False, passive=True, channel=channel)
        return str(self.name)


class SystemAAMQP(AMQP):
    """Knows B's queue as a PeerQueue, added after the configured queues so that no worker of
    A ever consumes it, even one started without --queues."""

    def Queues(self, queues: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N802 (Celery's name)
        known = super().Queues(queues, *args, **kwargs)
        known.add(PeerQueue(QUEUE_SYSTEM_B, routing_key=QUEUE_SYSTEM_B))
        return known


app = Celery("system_a", amqp=SystemAAMQP)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
def _database_connection_checked(**_: Any) -> None:
    """Give each task what Django gives each request: a persistent, health-checked connection.

    Celery's Django fix-up closes every database connection before and after every task unless
    CELERY_DB_REUSE_MAX is set, which makes each callback pay for a new PostgreSQL connection
    (celery/fixups/django.py, ``close_database``). Settings raise that limit; this restores
    Django's own rule instead: drop a connection that errored, failed its health check or
    outlived CONN_MAX_AGE, keep the rest. https://docs.djangoproject.com/en/5.2/ref/databases/#persistent-connections
    """
    from django.db import close_old_connections

    close_old_connections()
