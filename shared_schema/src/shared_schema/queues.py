"""How each system's queue is declared on the broker, as plain data both systems build from.

Each system declares, binds and consumes only its own queue, exchange and dead-letter pair; it
knows the other system's queue only by name and publishes to it through the default exchange,
after a passive declare that merely checks the queue exists. That keeps each broker user's
permissions to names under its own prefix (deploy/rabbitmq/permissions.json): B can send A's
callbacks but never read A's queue, and the other way round. The specs still live here, once,
so that anyone who declares a queue (its owner, the compose broker definitions, a test)
declares it identically: RabbitMQ refuses a redeclaration with other arguments.

The choice, explained in docs/reliability.md:

* **Quorum queues** (durable, replicated, and they count deliveries). ``x-delivery-limit`` bounds
  how often a message that keeps killing its worker is redelivered; past it, RabbitMQ
  dead-letters the message instead of looping forever.
  https://www.rabbitmq.com/docs/quorum-queues#poison-message-handling
* **A dead-letter exchange and queue per system** collect what that system cannot process:
  messages over the delivery limit and messages its worker rejects (undecodable body, content
  type other than JSON, unknown task name). Nothing consumes them; an operator inspects them.
  https://www.rabbitmq.com/docs/dlx
* **A topic exchange per queue, named like it**: Celery's native delayed delivery, which quorum
  queues need for ``countdown`` / retry backoff, only routes through topic or fanout exchanges.
  https://docs.celeryq.dev/en/stable/getting-started/backends-and-brokers/rabbitmq.html#using-quorum-queues
"""

from dataclasses import dataclass, field
from typing import Final

from shared_schema.names import QUEUE_SYSTEM_A, QUEUE_SYSTEM_B

EXCHANGE_TYPE: Final = "topic"
DEAD_LETTER_EXCHANGE_TYPE: Final = "fanout"

DELIVERY_LIMIT: Final = 4
"""Redeliveries after a worker died or rejected with requeue; the next one is dead-lettered.

A constant, not a setting: it is part of the queue's declaration. Four survives a couple of
worker crashes during one message's life and still stops a poison message within minutes.
"""


def dead_letter_name(queue: str) -> str:
    """``system_b.remote`` -> ``system_b.dead-letter``: under the owner's name prefix."""
    return f"{queue.split('.', 1)[0]}.dead-letter"


@dataclass(frozen=True)
class QueueSpec:
    name: str
    routing_key: str
    exchange: str
    exchange_type: str = EXCHANGE_TYPE
    arguments: dict[str, object] = field(default_factory=dict)


def work_queue(name: str) -> QueueSpec:
    return QueueSpec(
        name=name,
        routing_key=name,
        exchange=name,
        arguments={
            "x-queue-type": "quorum",
            "x-delivery-limit": DELIVERY_LIMIT,
            "x-dead-letter-exchange": dead_letter_name(name),
        },
    )


def dead_letter_queue(owner: str) -> QueueSpec:
    """The dead-letter exchange and queue for the work queue ``owner``; not itself dead-lettered."""
    name = dead_letter_name(owner)
    return QueueSpec(
        name=name,
        routing_key="#",
        exchange=name,
        exchange_type=DEAD_LETTER_EXCHANGE_TYPE,
        arguments={"x-queue-type": "quorum"},
    )


# Two names for one queue, on purpose: QUEUE_SYSTEM_A (shared_schema.names) is its name, all a
# signature's ``.set(queue=...)`` needs; SYSTEM_A_QUEUE is its spec, the name plus how to declare
# it, for whoever declares it. Signatures never need the spec, declarations never the bare name.
SYSTEM_A_QUEUE: Final = work_queue(QUEUE_SYSTEM_A)
SYSTEM_B_QUEUE: Final = work_queue(QUEUE_SYSTEM_B)
WORK_QUEUES: Final = (SYSTEM_A_QUEUE, SYSTEM_B_QUEUE)
