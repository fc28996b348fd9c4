"""What a worker of any system adds to Celery's: its dead-letter queues, declared before it
consumes, and a consumer that dead-letters what it cannot read instead of dropping it."""

from typing import Any

from celery import bootsteps
from celery.utils.log import get_logger
from celery.utils.objects import Bunch
from celery.worker.consumer import Consumer as CeleryConsumer
from kombu import Queue
from kombu.message import Message

import shared_schema.wire.control  # noqa: F401 - registers the masked `conf` command
from shared_schema.errors import InvalidRequest
from shared_schema.queues import dead_letter_queue
from shared_schema.wire.queues import queue_from_spec

logger = get_logger(__name__)


def dead_letter_queues(own: list[Queue]) -> list[Queue]:
    """The dead-letter queue of each of ``own`` that names a dead-letter exchange."""
    return [
        queue_from_spec(dead_letter_queue(queue.name))
        for queue in own
        if (queue.queue_arguments or {}).get("x-dead-letter-exchange")
    ]


class DeclareDeadLetter(bootsteps.StartStopStep):
    """Declare the dead-letter exchange and queue of each of the system's own queues
    (``task_queues``) whenever the consumer (re)connects.

    A queue names its exchange in ``x-dead-letter-exchange``; RabbitMQ drops a dead-lettered
    message silently if that exchange does not exist, so it must be there first.
    https://www.rabbitmq.com/docs/dlx
    """

    requires = ("celery.worker.consumer.connection:Connection",)

    def start(self, c: Any) -> None:
        channel = c.connection.channel()
        try:
            for queue in dead_letter_queues(list(c.app.conf.task_queues or ())):
                queue.bind(channel).declare()
        finally:
            channel.close()


class Consumer(CeleryConsumer):
    """Celery's consumer, except that a message it cannot read is dead-lettered, not dropped.

    Celery acknowledges an undecodable message (``Consumer.on_decode_error``), so it is gone
    without a trace but a log line. Rejecting it without requeue sends it to the system's
    dead-letter queue for an operator to inspect. Both refusals (undecodable body, content type
    other than JSON) also record a failure for the task id in the result backend, so the caller
    reconciling from the backend can fail its work with a reason instead of waiting for its
    deadline. Set it with ``worker_consumer`` (``common_settings`` does).

    Its remote control obeys only commands its own system's control exchange delivered
    (``shared_schema.wire.control.OwnControl``).
    """

    class Blueprint(CeleryConsumer.Blueprint):  # type: ignore[misc,valid-type]
        default_steps = [
            "shared_schema.wire.control:OwnControl"
            if step == "celery.worker.consumer.control:Control"
            else step
            for step in CeleryConsumer.Blueprint.default_steps
        ]

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
                InvalidRequest(f"The worker could not read the request: {why}."),
                request=request,
            )
        except Exception:  # the message is dead-lettered either way; the caller's deadline holds
            logger.exception("Could not record the refusal of task %s", task_id)
