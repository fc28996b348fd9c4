"""A's side of the wire: both queues as kombu objects, built from ``shared_schema.queues``.

A declares B's queue when it sends, B declares A's queue when it publishes a callback, and
RabbitMQ refuses a redeclaration with different arguments: the arguments come from the one
shared definition so both sides declare each queue identically. See docs/reliability.md.
"""

from typing import Any

from celery import bootsteps
from kombu import Exchange, Queue

from shared_schema.queues import DEAD_LETTER, WORK_QUEUES, QueueSpec


def queue_from_spec(spec: QueueSpec) -> Queue:
    return Queue(
        spec.name,
        Exchange(spec.exchange, type=spec.exchange_type, durable=True),
        routing_key=spec.routing_key,
        durable=True,
        queue_arguments=dict(spec.arguments),
    )


def work_queues() -> list[Queue]:
    return [queue_from_spec(spec) for spec in WORK_QUEUES]


class DeclareDeadLetter(bootsteps.StartStopStep):
    """Declare the dead-letter exchange and queue whenever A's consumer (re)connects.

    RabbitMQ drops a dead-lettered message silently if the exchange named in
    ``x-dead-letter-exchange`` does not exist.
    """

    requires = ("celery.worker.consumer.connection:Connection",)

    def start(self, c: Any) -> None:
        channel = c.connection.channel()
        try:
            queue_from_spec(DEAD_LETTER).bind(channel).declare()
        finally:
            channel.close()
