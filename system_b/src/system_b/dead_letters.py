"""B reports the messages its queue gave up on: a file whose worker died on every delivery.

RabbitMQ's quorum queue counts deliveries, including those ended by a worker dying with the
message unacknowledged (``task_acks_late`` + ``task_reject_on_worker_lost``), and past
``x-delivery-limit`` dead-letters the message to B's dead-letter exchange with reason
``delivery_limit`` in its ``x-death`` header. Nothing of Celery runs for it: no result is
stored and no errback is published, so the caller would wait for its deadline and then blame
the file. https://www.rabbitmq.com/docs/quorum-queues#poison-message-handling

This consumer step watches a second queue bound to the same fanout dead-letter exchange (the
operator's dead-letter queue keeps its copy of everything), and for a ``remote.processing``
message dead-lettered for its delivery limit does what the task would have done had it failed:
it stores ``WorkerLost`` (a shared contract error, ``worker_lost``) for the task id and sends
the errbacks the message carries in its body (protocol 2 embeds ``callbacks`` / ``errbacks``:
https://docs.celeryq.dev/en/stable/internals/protocol.html#version-2). The caller decides
what a lost worker means for the file; A starts a new attempt, up to its attempt limit.
Every other dead-lettered message is only acknowledged here.
"""

from typing import Any

from celery import bootsteps
from celery.utils.log import get_logger
from celery.utils.objects import Bunch
from kombu import Consumer, Exchange, Queue
from kombu.message import Message

from shared_schema.errors import WorkerLost
from shared_schema.names import PROCESS_TASK, QUEUE_SYSTEM_B
from shared_schema.queues import dead_letter_queue

logger = get_logger(__name__)

DELIVERY_LIMIT_REASON = "delivery_limit"


def watch_queue() -> Queue:
    """``system_b.dead-letter-watch``, bound to B's fanout dead-letter exchange.

    No dead-letter exchange of its own, and a delivery limit, so a report that keeps failing
    (the result backend down for long) is dropped rather than looping; A's deadline remains.
    """
    spec = dead_letter_queue(QUEUE_SYSTEM_B)
    return Queue(
        f"{spec.name}-watch",
        Exchange(spec.exchange, type=spec.exchange_type, durable=True),
        routing_key=spec.routing_key,
        durable=True,
        queue_arguments={"x-queue-type": "quorum", "x-delivery-limit": 20},
    )


def delivery_limit_death(headers: dict[str, Any]) -> dict[str, Any] | None:
    """The ``x-death`` entry saying B's queue dead-lettered the message for its delivery limit."""
    for death in headers.get("x-death") or ():
        if (
            isinstance(death, dict)
            and death.get("reason") == DELIVERY_LIMIT_REASON
            and death.get("queue") == QUEUE_SYSTEM_B
        ):
            return death
    return None


class DeadLetterWatch(bootsteps.ConsumerStep):
    """Consume ``watch_queue`` in B's worker and report delivery-limit deaths as failures."""

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        self._app = parent.app  # the worker's Consumer, whose app is B's
        super().__init__(parent, **kwargs)

    def get_consumers(self, channel: Any) -> list[Consumer]:
        return [
            Consumer(
                channel,
                queues=[watch_queue()],
                on_message=self.on_message,
                accept=["json"],
                prefetch_count=10,
            )
        ]

    def on_message(self, message: Message) -> None:
        try:
            self.report(message)
        except Exception:
            # The result backend or the broker is failing: try again (bounded by the watch
            # queue's delivery limit).
            logger.exception("Could not report a dead-lettered message; requeueing it")
            message.requeue()
            return
        message.ack()

    def report(self, message: Message) -> None:
        headers = message.headers or {}
        death = delivery_limit_death(headers)
        task_id = headers.get("id")
        if death is None or headers.get("task") != PROCESS_TASK or not isinstance(task_id, str):
            return  # rejected as unreadable or unknown: already reported by the consumer
        backend = self._app.backend
        if backend.get_state(task_id) in ("SUCCESS", "FAILURE"):
            # It finished but its worker died before acknowledging it: the outcome is stored
            # and its callback was sent.
            logger.info("Dead-lettered task %s had already finished; nothing to report", task_id)
            return
        try:
            _, _, embed = message.decode()
        except Exception:  # noqa: BLE001 - undecodable: report the failure without errbacks
            embed = {}
        errbacks = embed.get("errbacks") if isinstance(embed, dict) else None
        deliveries = headers.get("x-delivery-count") or death.get("count") or "several"
        logger.warning(
            "Task %s was dead-lettered after %s deliveries (its worker died each time); "
            "reporting worker_lost to its caller",
            task_id,
            deliveries,
        )
        request = Bunch(
            id=task_id,
            name=PROCESS_TASK,
            chord=None,
            chain=None,
            group=None,
            root_id=headers.get("root_id") or task_id,
            parent_id=headers.get("parent_id"),
            correlation_id=message.properties.get("correlation_id") or task_id,
            reply_to=message.properties.get("reply_to"),
            errbacks=errbacks or None,
            delivery_info={},
            ignore_result=False,
        )
        backend.mark_as_failure(
            task_id,
            WorkerLost(
                "Processing was interrupted each time it was tried: the worker running it "
                "stopped before it finished."
            ),
            request=request,
            call_errbacks=True,
        )
