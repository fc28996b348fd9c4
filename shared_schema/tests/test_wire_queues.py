"""The wire's queue table: a system's own queues as declared, every other name a peer."""

import copy

from celery import Celery

from shared_schema.names import QUEUE_SYSTEM_A, QUEUE_SYSTEM_B
from shared_schema.queues import SYSTEM_B_QUEUE
from shared_schema.wire import PeerQueue, WireCelery, common_settings
from shared_schema.wire.queues import peer_queue
from shared_schema.wire.worker import dead_letter_queues


def app_of_b() -> Celery:
    app = WireCelery("b-under-test", set_as_current=False)
    app.conf.update(common_settings(queue=SYSTEM_B_QUEUE))
    return app


def test_the_systems_own_queue_is_declared_as_specified_and_consumed() -> None:
    queues = app_of_b().amqp.queues

    own = queues[QUEUE_SYSTEM_B]
    assert not isinstance(own, PeerQueue)
    assert (own.exchange.name, own.exchange.type) == (QUEUE_SYSTEM_B, "topic")
    assert (own.queue_arguments or {})["x-queue-type"] == "quorum"
    assert list(queues.consume_from) == [QUEUE_SYSTEM_B]


def test_any_other_queue_is_a_peer_reached_through_the_default_exchange_and_never_kept() -> None:
    queues = app_of_b().amqp.queues

    for name in (QUEUE_SYSTEM_A, "system_c.callbacks", "anything.at-all"):
        peer = queues[name]
        assert isinstance(peer, PeerQueue)
        assert (peer.exchange.name, peer.exchange.type, peer.routing_key) == ("", "direct", name)
        assert name not in queues
    assert list(queues) == [QUEUE_SYSTEM_B]


def test_the_router_sends_a_signatures_queue_to_a_peer_queue() -> None:
    app = app_of_b()
    route = app.amqp.router.route({"queue": "system_c.callbacks"}, "system_c.done")

    assert isinstance(route["queue"], PeerQueue)


def test_a_peer_queue_is_never_bound() -> None:
    """Not even with no channel at all: binding would need the broker, and a channel."""
    peer_queue("system_c.callbacks").bind_to("celery_delayed_delivery")


def test_a_peer_queue_survives_the_copy_kombu_makes_when_binding_it() -> None:
    bound = copy.copy(peer_queue("system_c.callbacks"))

    assert isinstance(bound, PeerQueue)
    assert (bound.exchange.name, bound.routing_key) == ("", "system_c.callbacks")


def test_the_dead_letter_queue_of_each_own_queue_is_declared_under_the_owners_prefix() -> None:
    app = app_of_b()
    names = [q.name for q in dead_letter_queues(list(app.conf.task_queues))]

    assert names == ["system_b.dead-letter"]


def test_every_wire_setting_is_json_only_persistent_and_confirmed() -> None:
    conf = common_settings(queue=SYSTEM_B_QUEUE)

    assert conf["accept_content"] == conf["result_accept_content"] == ["json"]
    assert conf["task_serializer"] == conf["result_serializer"] == "json"
    assert conf["task_default_delivery_mode"] == "persistent"
    assert conf["broker_transport_options"] == {"confirm_publish": True}
    assert conf["task_acks_late"] is conf["task_reject_on_worker_lost"] is True
