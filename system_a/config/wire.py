"""A's side of the wire: its own queue (declared from ``shared_schema.queues``) and B's queue,
known by name only. See docs/reliability.md and deploy/rabbitmq/permissions.json."""

from typing import Any

from celery import bootsteps
from celery.app.amqp import AMQP
from kombu import Exchange, Queue

from shared_schema.queues import SYSTEM_A_QUEUE, SYSTEM_B_QUEUE, QueueSpec, dead_letter_queue


def queue_from_spec(spec: QueueSpec) -> Queue:
    return Queue(
        spec.name,
        Exchange(spec.exchange, type=spec.exchange_type, durable=True),
        routing_key=spec.routing_key,
        durable=True,
        queue_arguments=dict(spec.arguments),
    )


class PeerQueue(Queue):
    """A queue another system owns. Sending to it goes through the default exchange after a
    passive declare, which needs no permission and only checks the queue exists. An active
    declare would bind it, which RabbitMQ allows only to a user who may read the queue's
    exchange, and so the queue: A's broker user would then be able to consume B's work. While
    B's queue does not exist, sending raises NOT_FOUND and the file stays PENDING for the
    sweeper, instead of the broker dropping the message as unroutable.
    https://www.rabbitmq.com/docs/access-control#authorisation
    """

    def declare(self, nowait: bool = False, channel: Any = None) -> str:
        self.queue_declare(nowait=False, passive=True, channel=channel)
        return str(self.name)


def own_queues() -> list[Queue]:
    return [queue_from_spec(SYSTEM_A_QUEUE)]


class SystemAAMQP(AMQP):
    """Knows B's queue as a PeerQueue, added after the configured queues so that no worker of
    A ever consumes it, even one started without --queues."""

    def Queues(self, queues: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N802 (Celery's name)
        known = super().Queues(queues, *args, **kwargs)
        known.add(PeerQueue(SYSTEM_B_QUEUE.name, routing_key=SYSTEM_B_QUEUE.routing_key))
        return known


class DeclareDeadLetter(bootsteps.StartStopStep):
    """Declare A's dead-letter exchange and queue whenever A's consumer (re)connects.

    RabbitMQ drops a dead-lettered message silently if the exchange named in
    ``x-dead-letter-exchange`` does not exist.
    """

    requires = ("celery.worker.consumer.connection:Connection",)

    def start(self, c: Any) -> None:
        channel = c.connection.channel()
        try:
            queue_from_spec(dead_letter_queue(SYSTEM_A_QUEUE.name)).bind(channel).declare()
        finally:
            channel.close()
