"""B's side of the wire: the queues as kombu objects, and what the worker does with bad messages.

The queue arguments come from ``shared_schema.queues`` so B declares A's callback queue exactly
as A does (B publishes the callbacks, and Celery declares the queue it publishes to).
"""

from typing import Any

from celery import bootsteps
from celery.utils.log import get_logger
from celery.utils.objects import Bunch
from celery.worker.consumer import Consumer as CeleryConsumer
from kombu import Exchange, Queue
from kombu.message import Message

from shared_schema.errors import InvalidRequest
from shared_schema.queues import DEAD_LETTER, WORK_QUEUES, QueueSpec

logger = get_logger(__name__)


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
    """Declare the dead-letter exchange and queue whenever the consumer (re)connects.

    The work queues name the exchange in ``x-dead-letter-exchange``; RabbitMQ drops a
    dead-lettered message silently if that exchange does not exist, so it must be there first.
    """

    requires = ("celery.worker.consumer.connection:Connection",)

    def start(self, c: Any) -> None:
        channel = c.connection.channel()
        try:
            queue_from_spec(DEAD_LETTER).bind(channel).declare()
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
