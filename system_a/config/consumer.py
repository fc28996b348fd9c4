"""A's worker consumer: Celery's, with two changes for a broker shared between systems.

* A message A cannot decode is dead-lettered, not dropped. Celery acknowledges an undecodable
  message (``Consumer.on_decode_error``), so it is gone but for a log line; rejecting it without
  requeue sends it to A's dead-letter queue (shared_schema.queues) for an operator to inspect,
  as B's worker does with its own (system_b.wire.Consumer).
* Native delayed delivery binds only queues whose exchange can carry it. Celery binds every
  queue the app knows, B's queue included: A knows it only by name (config.wire.PeerQueue) and
  sends to it through the default exchange, so Celery files it under a *direct* exchange named
  like A's own topic exchange, and warns at every start that "system_a.callbacks is a direct
  exchange". Delayed delivery cannot route through a direct exchange anyway, and another
  system's queue is not A's to bind.
  https://docs.celeryq.dev/en/stable/getting-started/backends-and-brokers/rabbitmq.html#using-quorum-queues
"""

from typing import Any

from celery.utils.log import get_logger
from celery.worker.consumer import Consumer as CeleryConsumer
from celery.worker.consumer.delayed_delivery import DelayedDelivery
from kombu.message import Message
from kombu.transport.native_delayed_delivery import (
    bind_queue_to_native_delayed_delivery_exchange,
)

logger = get_logger(__name__)

_CELERY_DELAYED_DELIVERY = "celery.worker.consumer.delayed_delivery:DelayedDelivery"


class OwnQueuesDelayedDelivery(DelayedDelivery):
    def _bind_queues(self, app: Any, connection: Any) -> None:
        for queue in app.amqp.queues.values():
            if queue.exchange is not None and queue.exchange.type == "direct":
                continue  # a peer's queue, sent to through the default exchange
            bind_queue_to_native_delayed_delivery_exchange(connection, queue)


class _Blueprint(CeleryConsumer.Blueprint):  # type: ignore[misc,valid-type]
    default_steps = [
        "config.consumer:OwnQueuesDelayedDelivery" if step == _CELERY_DELAYED_DELIVERY else step
        for step in CeleryConsumer.Blueprint.default_steps
    ]


class Consumer(CeleryConsumer):
    Blueprint = _Blueprint

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
