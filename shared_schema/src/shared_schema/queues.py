"""How both queues are declared on the broker, as plain data both systems build from.

RabbitMQ refuses to redeclare a queue with different arguments (``PRECONDITION_FAILED``), and
*both* systems declare *both* queues: Celery declares the target queue on every publish
(``celery.app.amqp.AMQP.send_task_message`` passes ``declare=[queue]``), A publishes to B's
queue, and B's worker publishes A's callbacks to A's queue. So the arguments live here, once,
and each side turns them into ``kombu.Queue`` objects (this package imports no kombu).

The choice, explained in docs/reliability.md:

* **Quorum queues** (durable, replicated, and they count deliveries). ``x-delivery-limit`` bounds
  how often a message that keeps killing its worker is redelivered; past it, RabbitMQ
  dead-letters the message instead of looping forever.
  https://www.rabbitmq.com/docs/quorum-queues#poison-message-handling
* **A dead-letter exchange and queue** collect what cannot be processed: messages over the
  delivery limit and messages a worker rejects (undecodable body, content type other than JSON,
  unknown task name). Nothing consumes it; an operator inspects it.
  https://www.rabbitmq.com/docs/dlx
* **One topic exchange** for both queues: Celery's native delayed delivery, which quorum queues
  need for ``countdown`` / retry backoff (they cannot hold ETA messages in the worker the classic
  way), only routes through topic or fanout exchanges.
  https://docs.celeryq.dev/en/stable/getting-started/backends-and-brokers/rabbitmq.html#using-quorum-queues
"""

from dataclasses import dataclass, field
from typing import Final

from shared_schema.names import QUEUE_SYSTEM_A, QUEUE_SYSTEM_B

EXCHANGE: Final = "crosslink"
EXCHANGE_TYPE: Final = "topic"

DEAD_LETTER_EXCHANGE: Final = "crosslink.dead-letter"
DEAD_LETTER_EXCHANGE_TYPE: Final = "fanout"
DEAD_LETTER_QUEUE: Final = "crosslink.dead-letter"

DELIVERY_LIMIT: Final = 4
"""Redeliveries after a worker died or rejected with requeue; the next one is dead-lettered.

A constant, not a setting: it is part of the queue's declaration, which must be identical on
both sides. Four survives a couple of worker crashes during one message's life and still stops
a poison message within minutes.
"""


def _work_queue_arguments() -> dict[str, object]:
    return {
        "x-queue-type": "quorum",
        "x-delivery-limit": DELIVERY_LIMIT,
        "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
    }


@dataclass(frozen=True)
class QueueSpec:
    name: str
    routing_key: str
    exchange: str = EXCHANGE
    exchange_type: str = EXCHANGE_TYPE
    arguments: dict[str, object] = field(default_factory=_work_queue_arguments)


WORK_QUEUES: Final = (
    QueueSpec(name=QUEUE_SYSTEM_A, routing_key=QUEUE_SYSTEM_A),
    QueueSpec(name=QUEUE_SYSTEM_B, routing_key=QUEUE_SYSTEM_B),
)
"""Both systems declare both: each consumes only its own (``worker -Q``)."""

DEAD_LETTER = QueueSpec(
    name=DEAD_LETTER_QUEUE,
    routing_key="#",
    exchange=DEAD_LETTER_EXCHANGE,
    exchange_type=DEAD_LETTER_EXCHANGE_TYPE,
    arguments={"x-queue-type": "quorum"},
)
