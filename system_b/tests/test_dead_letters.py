from system_b.dead_letters import delivery_limit_death, watch_queue


def death(reason: str, queue: str = "system_b.remote") -> dict[str, object]:
    return {"reason": reason, "queue": queue, "count": 1, "exchange": "system_b.remote"}


def test_a_message_over_bs_delivery_limit_is_recognised_from_its_x_death_header() -> None:
    headers = {"x-death": [death("delivery_limit")], "x-delivery-count": 5}

    assert delivery_limit_death(headers) == death("delivery_limit")


def test_a_message_b_rejected_is_not_a_delivery_limit_death() -> None:
    assert delivery_limit_death({"x-death": [death("rejected")]}) is None
    assert delivery_limit_death({}) is None


def test_a_delivery_limit_death_in_another_queue_is_not_bs() -> None:
    assert delivery_limit_death({"x-death": [death("delivery_limit", "elsewhere")]}) is None


def test_the_watch_queue_copies_bs_dead_letter_exchange_and_is_not_itself_dead_lettered() -> None:
    queue = watch_queue()

    assert queue.name == "system_b.dead-letter-watch"
    assert queue.exchange.name == "system_b.dead-letter"
    assert queue.exchange.type == "fanout"
    assert queue.queue_arguments is not None
    assert "x-dead-letter-exchange" not in queue.queue_arguments
