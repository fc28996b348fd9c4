"""What A's and B's workers do with the messages nobody wants: expired housekeeping, undecodable
bodies, and the peer queue each knows by name."""

import uuid
from datetime import timedelta
from typing import Any

import pytest
from celery.signals import before_task_publish
from django.utils import timezone

from config.celery import app as a_app
from harness.processes import ManagedProcess
from harness.raw_messages import JSON, dead_letter_count, publish_raw, task_headers
from harness.waiting import wait_for
from shared_schema.names import QUEUE_SYSTEM_A

pytestmark = pytest.mark.integration

Workers = tuple[ManagedProcess, ManagedProcess]


def test_neither_worker_calls_a_topic_exchange_a_direct_one_at_start(workers: Workers) -> None:
    for worker in workers:
        assert " ready." in worker.log()
        assert "is a direct exchange" not in worker.log(), worker.tail()


def test_an_undecodable_message_on_as_queue_is_dead_lettered_not_dropped(
    workers: Workers, broker_url: str
) -> None:
    before = dead_letter_count(broker_url, owner=QUEUE_SYSTEM_A)
    task_id = str(uuid.uuid4())

    publish_raw(
        broker_url,
        routing_key=QUEUE_SYSTEM_A,
        body=b'[[], {"file_id": 1,',
        content_type=JSON,
        headers=task_headers(task="system_a.file_processing_failed", task_id=task_id),
        task_id=task_id,
    )

    wait_for(
        lambda: dead_letter_count(broker_url, owner=QUEUE_SYSTEM_A) > before or None,
        timeout=30,
        what="the undecodable message in A's dead-letter queue",
        describe=workers[0].tail,
    )
    assert "Dead-lettering a message whose body cannot be decoded" in workers[0].log()


def test_an_expired_sweep_is_dropped_by_as_worker_not_dead_lettered(
    workers: Workers, broker_url: str
) -> None:
    before = dead_letter_count(broker_url, owner=QUEUE_SYSTEM_A)
    published: list[dict[str, Any]] = []

    def record(properties: dict[str, Any] | None = None, **_: Any) -> None:
        published.append(dict(properties or {}))

    before_task_publish.connect(record)  # after A's own receiver, so it sees what is sent
    try:
        # As beat sends it when A's worker was down longer than one interval.
        result = a_app.send_task(
            "system_a.file_sweep",
            queue=QUEUE_SYSTEM_A,
            expires=timezone.now() - timedelta(seconds=30),
        )
    finally:
        before_task_publish.disconnect(record)

    assert published
    assert "expiration" not in published[-1]  # no broker TTL, so no dead-lettering
    wait_for(
        lambda: (
            f"Discarding revoked task: system_a.file_sweep[{result.id}]" in workers[0].log() or None
        ),
        timeout=30,
        what="A's worker to discard the expired sweep",
        describe=workers[0].tail,
    )
    assert dead_letter_count(broker_url, owner=QUEUE_SYSTEM_A) == before
