from shared_schema.names import QUEUE_SYSTEM_A, QUEUE_SYSTEM_B
from shared_schema.queues import (
    DELIVERY_LIMIT,
    SYSTEM_A_QUEUE,
    SYSTEM_B_QUEUE,
    WORK_QUEUES,
    dead_letter_queue,
)


def test_both_work_queues_are_quorum_queues_bounded_by_the_delivery_limit() -> None:
    assert {q.name for q in WORK_QUEUES} == {QUEUE_SYSTEM_A, QUEUE_SYSTEM_B}
    for queue in WORK_QUEUES:
        assert queue.arguments["x-queue-type"] == "quorum"
        assert queue.arguments["x-delivery-limit"] == DELIVERY_LIMIT
        assert queue.routing_key == queue.name


def test_every_name_a_system_declares_stays_under_its_own_prefix() -> None:
    for queue, prefix in ((SYSTEM_A_QUEUE, "system_a."), (SYSTEM_B_QUEUE, "system_b.")):
        dead_letter = dead_letter_queue(queue.name)
        names = [queue.name, queue.exchange, dead_letter.name, dead_letter.exchange]
        assert all(name.startswith(prefix) for name in names), names
        assert queue.arguments["x-dead-letter-exchange"] == dead_letter.exchange


def test_each_queue_gets_its_own_copy_of_the_arguments() -> None:
    assert SYSTEM_A_QUEUE.arguments is not SYSTEM_B_QUEUE.arguments


def test_a_dead_letter_queue_is_not_itself_dead_lettered() -> None:
    assert "x-dead-letter-exchange" not in dead_letter_queue(QUEUE_SYSTEM_B).arguments
