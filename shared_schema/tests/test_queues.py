from shared_schema.names import QUEUE_SYSTEM_A, QUEUE_SYSTEM_B
from shared_schema.queues import (
    DEAD_LETTER,
    DEAD_LETTER_EXCHANGE,
    DELIVERY_LIMIT,
    WORK_QUEUES,
)


def test_both_work_queues_are_quorum_queues_bounded_by_the_delivery_limit() -> None:
    assert {q.name for q in WORK_QUEUES} == {QUEUE_SYSTEM_A, QUEUE_SYSTEM_B}
    for queue in WORK_QUEUES:
        assert queue.arguments == {
            "x-queue-type": "quorum",
            "x-delivery-limit": DELIVERY_LIMIT,
            "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
        }
        assert queue.routing_key == queue.name


def test_each_queue_gets_its_own_copy_of_the_arguments() -> None:
    first, second = WORK_QUEUES
    assert first.arguments is not second.arguments


def test_the_dead_letter_queue_is_not_itself_dead_lettered() -> None:
    assert DEAD_LETTER.exchange == DEAD_LETTER_EXCHANGE
    assert "x-dead-letter-exchange" not in DEAD_LETTER.arguments
