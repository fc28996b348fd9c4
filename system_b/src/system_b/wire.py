"""B's side of the wire: its own queue (declared from ``shared_schema.queues``), A's callback
queue known by name only, and what the worker does with bad messages. See docs/reliability.md
and deploy/rabbitmq/permissions.json.
"""

from typing import Any

from celery import bootsteps
from celery.app.amqp import AMQP
from celery.utils.log import get_logger
from celery.utils.objects import Bunch
from celery.worker.consumer import Consumer as CeleryConsumer
from kombu import Exchange, Queue
from kombu.message import Message

from shared_schema.errors import InvalidRequest
from shared_schema.queues import SYSTEM_A_QUEUE, SYSTEM_B_QUEUE, QueueSpec, dead_letter_queue

logger = get_logger(__name__)


def queue_from_spec(spec: QueueSpec) -> Queue:
    return Queue(
        spec.name,
        Exchange(spec.exchange, type=spec.exchange_type, durable=True),
        routing_key=spec.routing_key,
        durable=True,
        queue_arguments=dict(spec.arguments),
    )


def own_queues() -> list[Queue]:
    return [queue_from_spec(SYSTEM_B_QUEUE)]


class PeerQueue(Queue):
    """A queue another system owns. Publishing to it goes through the default exchange after a
    passive declare, which needs no permission and only checks the queue exists. An active
    declare would bind it, which RabbitMQ allows only to a user who may read the queue's
    exchange, and so the queue: B's broker user would then be able to read A's queue. While
    A's queue does not exist, publishing a callback raises NOT_FOUND (logged; A's sweeper
    reconciles the file from the result backend) instead of the broker dropping it as
    unroutable. https://www.rabbitmq.com/docs/access-control#authorisation
    """

    def declare(self, nowait: bool = False, channel: Any = None) -> str:
        self.queue_declare(nowait=False, passive=True, channel=channel)
        return str(self.name)


class SystemBAMQP(AMQP):
    """Knows A's callback queue as a PeerQueue, added after the configured queues so that no
    worker of B ever consumes it, even one started without --queues."""

    def Queues(self, queues: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N802 (Celery's name)
        known = super().Queues(queues, *args, **kwargs)
        known.add(PeerQueue(SYSTEM_A_QUEUE.name, routing_key=SYSTEM_A_QUEUE.routing_key))
        return known


class DeclareDeadLetter(bootsteps.StartStopStep):
    """Declare B's dead-letter exchange and queue whenever the consumer (re)connects.

    B's queue names the exchange in ``x-dead-letter-exchange``; RabbitMQ drops a dead-lettered
    message silently if that exchange does not exist, so it must be there first.
    """

    requires = ("celery.worker.consumer.connection:Connection",)

    def start(self, c: Any) -> None:
        channel = c.connection.channel()
        try:
            queue_from_spec(dead_letter_queue(SYSTEM_B_QUEUE.name)).bind(channel).declare()
        finally:
            channel.close()


class Consumer(CeleryConsumer):
    """Celery's consumer, except that a message it cannot read is dead-lettered, not dropped.

    Celery acknowledges an undecodable message (``Consumer.on_decode_error``), so it is gone
    without a trace but a log line. Rejecting it without requeue sends it to the dead-letter
    queue for an operator to inspect. Both refusals (undecodable body, content type other than
    JSON) also record a failure for the task id in the result backend, so A's sweeper can fail
    the file with a reason instead of waiting for its deadline.
    """

    def on_decode_error(self, message: Message, exc: Exception) -> None:
        logger.critical(
            "Dead-lettering a message whose body cannot be decoded (%s: %s); content type %r, "
            "headers %r",
            type(exc).__name__,
            exc,
            message.content_type,
            message.headers,
        )
        message.reject(requeue=False)
        self._record_refusal(message, "its body is not valid JSON")

    def on_invalid_task(self, body: Any, message: Message, exc: Exception) -> None:
        logger.critical(
            "Dead-lettering a message refused as invalid (%s: %s); content type %r",
            type(exc).__name__,
            exc,
            message.content_type,
        )
        message.reject(requeue=False)
        self._record_refusal(message, f"it was refused ({type(exc).__name__})")

    def _record_refusal(self, message: Message, why: str) -> None:
        headers = message.headers or {}
        task_id = headers.get("id")
        if not isinstance(task_id, str):
            return
        request = Bunch(
            name=headers.get("task"),
            chord=None,
            root_id=headers.get("root_id"),
            correlation_id=message.properties.get("correlation_id"),
            reply_to=message.properties.get("reply_to"),
            errbacks=None,
        )
        try:
            self.app.backend.mark_as_failure(
                task_id,
                InvalidRequest(f"System B could not read the request: {why}."),
                request=request,
            )
        except Exception:  # the message is dead-lettered either way; A's deadline still holds
            logger.exception("Could not record the refusal of task %s", task_id)
