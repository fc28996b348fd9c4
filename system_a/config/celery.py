"""System A's Celery application: ``celery -A config worker``.

Configuration comes from Django settings under the ``CELERY_`` namespace, as in Celery's own
``examples/django``.
"""

import os
from typing import Any

from celery import Celery
from celery.app.amqp import AMQP
from kombu import Queue

from shared_schema.names import QUEUE_SYSTEM_B

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


class SystemAAMQP(AMQP):
    """Each system declares only the queue it consumes, so B's queue is known here for routing
    only. Sending to it would otherwise declare and bind it, and RabbitMQ allows that bind only
    to a user who may read B's exchange, which by name means B's queue too: A's broker user
    must not be able to consume B's work (deploy/rabbitmq/permissions.json). B's worker declares
    its queue. Added after the configured queues, so no worker of A ever consumes it.
    https://www.rabbitmq.com/docs/access-control#authorisation
    """

    def Queues(self, queues: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N802 (Celery's name)
        known = super().Queues(queues, *args, **kwargs)
        known.add(Queue(QUEUE_SYSTEM_B, routing_key=QUEUE_SYSTEM_B, no_declare=True))
        return known


app = Celery("system_a", amqp=SystemAAMQP)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
