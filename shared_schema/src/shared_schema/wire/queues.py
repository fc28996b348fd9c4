"""Queues on the broker: a system's own (declared from ``shared_schema.queues``) and everyone
else's (peers, known only by name).

Each system declares, binds and consumes only the queues it configures as its own
(``task_queues``). Every other queue it publishes to (B's work queue for a caller, a caller's
callback queue for B) is a :class:`PeerQueue`: checked with a passive declare and published
to through the default exchange. No system needs a list of its peers.
"""

from typing import Any

from celery.app.amqp import AMQP, Queues
from kombu import Exchange, Queue

from shared_schema.queues import QueueSpec


def queue_from_spec(spec: QueueSpec) -> Queue:
    """The kombu queue a system declares for its own ``spec``."""
    return Queue(
        spec.name,
        Exchange(spec.exchange, type=spec.exchange_type, durable=True),
        routing_key=spec.routing_key,
        durable=True,
        queue_arguments=dict(spec.arguments),
    )


class PeerQueue(Queue):
    """A queue another system owns. Publishing to it goes through the default exchange (its
    exchange is the nameless direct one, so Celery routes by queue name) after a passive
    declare, which needs no permission and only checks that the queue exists.

    An active declare would bind the queue to an exchange, which RabbitMQ allows only to a
    user who may read that exchange, and so that queue: the publisher could then consume the
    peer's messages. It would also redeclare the queue with other arguments than its owner's,
    which RabbitMQ refuses with PRECONDITION_FAILED. While the queue does not exist, the
    publish raises NOT_FOUND instead of the broker dropping the message as unroutable.
    https://www.rabbitmq.com/docs/access-control#authorisation
    """

    def declare(self, nowait: bool = False, channel: Any = None) -> str:
        self.queue_declare(nowait=False, passive=True, channel=channel)
        return str(self.name)

    def bind_to(self, *args: Any, **kwargs: Any) -> None:
        # Binding is an owner's act (native delayed delivery binds the queues it is shown):
        # never bind a peer's queue.
        return None


def peer_queue(name: str) -> PeerQueue:
    """The queue ``name`` of another system, as its publishers see it."""
    return PeerQueue(name, Exchange(""), routing_key=name)


class WireQueues(Queues):
    """Celery's queue table, where any queue that is not the system's own is a peer.

    Celery's ``Queues.__missing__`` would add an unknown queue with ``new_missing``: a classic
    queue on a *direct* exchange, declared actively on every publish (celery/app/amqp.py). For a
    peer's quorum queue on a topic exchange that is PRECONDITION_FAILED, and under least
    privilege ACCESS_REFUSED. Here an unknown name gives a fresh :class:`PeerQueue` that is not
    added to the table, so nothing that walks the table (the worker's consumers, native delayed
    delivery's bindings, ``celery purge``) ever touches another system's queue, and a worker
    starts whether or not any peer's queue exists yet.
    """

    def __missing__(self, name: str) -> Queue:
        return peer_queue(name)

    def new_missing(self, name: str) -> Queue:
        return peer_queue(name)


class WireAMQP(AMQP):
    """Celery's AMQP API with :class:`WireQueues` as its queue table."""

    queues_cls = WireQueues
