"""Countdowns still work on quorum queues: Celery routes them through its native delayed
delivery exchanges (https://docs.celeryq.dev/en/stable/getting-started/backends-and-brokers/
rabbitmq.html#using-quorum-queues). A's callbacks retry with a countdown when the database is
away, and B's task retries transient storage errors the same way, so this must hold."""

import uuid
from datetime import UTC, datetime

import pytest

from files.models import File
from files.tasks import file_processing_succeeded
from harness.logs import log_events
from harness.processes import ManagedProcess
from harness.waiting import wait_for
from shared_schema.names import QUEUE_SYSTEM_A
from shared_schema.payloads import ProcessingResult

pytestmark = pytest.mark.integration

COUNTDOWN_S = 3


def test_a_callback_sent_with_a_countdown_arrives_after_it_and_not_before(
    workers: tuple[ManagedProcess, ManagedProcess],
) -> None:
    task_id = str(uuid.uuid4())
    file = File.objects.create(
        original_name="later.csv",
        storage_key=f"uploads/{task_id}.csv",
        size_bytes=1,
        status=File.Status.PROCESSING,
        task_id=task_id,
        attempts=1,
    )
    result = ProcessingResult(
        storage_key=file.storage_key,
        sha256="0" * 64,
        size_bytes=1,
        format="csv",  # type: ignore[arg-type]
        rows=0,
        columns=(),
    ).model_dump(mode="json")
    sent = datetime.now(UTC)

    message = (
        file_processing_succeeded.s(result, file_id=file.pk, task_id=task_id)
        .set(queue=QUEUE_SYSTEM_A)
        .apply_async(countdown=COUNTDOWN_S)
    )

    def applied() -> bool:
        file.refresh_from_db()
        return file.status == File.Status.SUCCESS

    wait_for(applied, timeout=60, what="the delayed callback", describe=workers[0].tail)
    # Held by the broker, not by A's worker: the worker only *received* it once the time was up
    # (a worker holding an ETA message logs "received" at once).
    received = log_events(workers[0].log(), "task.received", celery_task_id=message.id)
    assert len(received) == 1, received
    at = datetime.fromisoformat(received[0]["time"])
    assert (at - sent).total_seconds() >= COUNTDOWN_S - 0.5
