"""System B's Celery application: ``celery -A system_b.celery_app worker``.

B publishes more than its results: when ``remote.processing`` ends, *this* worker publishes the
link or link_error message with *this* configuration. System A's routing never applies to those
messages, which is why A puts the queue on every signature it sends.
"""

from typing import Any

from celery import Celery
from celery.app.amqp import AMQP
from kombu import Queue

from shared_schema.names import QUEUE_SYSTEM_A, QUEUE_SYSTEM_B
from system_b.settings import settings


class PeerQueue(Queue):
    """A queue another system consumes and declares. Publishing to it only checks that it
    exists: a passive declare, which needs no permission. An active declare would also bind it,
    and RabbitMQ allows that bind only to a user who may read the queue's exchange, which Celery
    names like the queue: B's broker user would then be able to read A's queue
    (deploy/rabbitmq/permissions.json). While A's queue does not exist, publishing a callback
    raises NOT_FOUND (logged here; A's sweeper reconciles the file), instead of the broker
    dropping it as unroutable. https://www.rabbitmq.com/docs/access-control#authorisation
    """

    def declare(self, nowait: bool = False, channel: Any = None) -> str:
        self.queue_declare(nowait=False, passive=True, channel=channel)
        return str(self.name)


class SystemBAMQP(AMQP):
    """Knows A's callback queue as a PeerQueue, added after the configured queues so that no
    worker of B ever consumes it, even one started without --queues."""

    def Queues(self, queues: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N802 (Celery's name)
        known = super().Queues(queues, *args, **kwargs)
        known.add(PeerQueue(QUEUE_SYSTEM_A, routing_key=QUEUE_SYSTEM_A))
        return known


app = Celery("system_b", include=["system_b.tasks"], amqp=SystemBAMQP)

app.conf.update(
    broker_url=settings.broker_url,
    result_backend=settings.result_backend,
    # JSON only, in and out. Pickle on a broker shared between systems is remote code execution:
    # https://docs.celeryq.dev/en/stable/userguide/security.html#serializers
    accept_content=["json"],
    result_accept_content=["json"],
    task_serializer="json",
    result_serializer="json",
    # B consumes only its own queue; declared durable so work survives a broker restart.
    task_default_queue=QUEUE_SYSTEM_B,
    task_queues=[Queue(QUEUE_SYSTEM_B, durable=True)],
    task_default_delivery_mode="persistent",
    # Wait for the broker to confirm each publish (results' link messages included), so a
    # message the broker never took raises here instead of vanishing:
    # https://docs.celeryq.dev/projects/kombu/en/stable/reference/kombu.transport.pyamqp.html
    broker_transport_options={"confirm_publish": True},
    broker_connection_retry_on_startup=True,
    # Acknowledge after the task ends, and requeue if the child process dies, so a crash
    # mid-file loses nothing. Processing is safe to repeat. One message at a time per child:
    # a long task must not sit on prefetched work another worker could take.
    # https://docs.celeryq.dev/en/stable/userguide/configuration.html#task-reject-on-worker-lost
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_soft_time_limit=settings.soft_time_limit,
    task_time_limit=settings.hard_time_limit,
    # STARTED lets A tell "queued" from "running".
    task_track_started=True,
    # Events for Flower and `celery events`.
    worker_send_task_events=True,
    # No "task-sent" event for the callbacks B publishes: one more confirmed publish per file;
    # A's worker reports them to Flower when it receives them.
    task_send_sent_event=False,
)
