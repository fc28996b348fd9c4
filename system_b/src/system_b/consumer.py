"""B's worker consumer: system_b.wire's (which dead-letters what B cannot read), binding only
queues whose exchange can carry native delayed delivery.

Celery binds every queue the app knows to its delayed-delivery exchanges, A's callback queue
included: B knows it only by name (system_b.wire.PeerQueue) and publishes to it through the
default exchange, so Celery files it under a *direct* exchange named like B's own topic
exchange, and warns at every start that "system_b.remote is a direct exchange". Delayed delivery
cannot route through a direct exchange anyway, and another system's queue is not B's to bind.
https://docs.celeryq.dev/en/stable/getting-started/backends-and-brokers/rabbitmq.html#using-quorum-queues
"""

from typing import Any

from celery.worker.consumer import Consumer as CeleryConsumer
from celery.worker.consumer.delayed_delivery import DelayedDelivery
from kombu.transport.native_delayed_delivery import (
    bind_queue_to_native_delayed_delivery_exchange,
)

from system_b import wire

_CELERY_DELAYED_DELIVERY = "celery.worker.consumer.delayed_delivery:DelayedDelivery"


class OwnQueuesDelayedDelivery(DelayedDelivery):
    def _bind_queues(self, app: Any, connection: Any) -> None:
        for queue in app.amqp.queues.values():
            if queue.exchange is not None and queue.exchange.type == "direct":
                continue  # a peer's queue, published to through the default exchange
            bind_queue_to_native_delayed_delivery_exchange(connection, queue)


class _Blueprint(CeleryConsumer.Blueprint):  # type: ignore[misc,valid-type]
    default_steps = [
        "system_b.consumer:OwnQueuesDelayedDelivery" if step == _CELERY_DELAYED_DELIVERY else step
        for step in CeleryConsumer.Blueprint.default_steps
    ]


class Consumer(wire.Consumer):
    Blueprint = _Blueprint
