"""Nothing lost, nothing stuck: a batch of files through each fault, on a private stack.

Each test sends a batch, breaks one thing mid-batch, and settles: every file ends SUCCESS (with
its own checksum) or FAILED with a reason, A applied each outcome exactly once, and nothing is
left PENDING or PROCESSING. ``make chaos`` prints one line per fault.
"""

import signal
import uuid
from datetime import timedelta

import psutil
import pytest
from django.db import connection
from django.utils import timezone

from files.models import File
from files.tasks import file_processing_failed, file_processing_succeeded
from harness.chaos import (
    BATCH_FILES,
    Expected,
    Rig,
    b_tasks_done,
    good_csv,
    upload_batch,
    wait_settled,
)
from harness.logs import log_events
from harness.raw_messages import (
    JSON,
    PICKLE,
    dead_letter_count,
    json_bytes,
    pickle_bytes,
    publish_raw,
    task_body,
    task_headers,
)
from harness.waiting import wait_for
from shared_schema.errors import ErrorCode
from shared_schema.names import PROCESS_TASK, QUEUE_SYSTEM_A, QUEUE_SYSTEM_B
from shared_schema.queues import DELIVERY_LIMIT

pytestmark = pytest.mark.integration

HEAVY = 40
"""Blocks per file where a fault must land mid-task: ~1.2 MB, a few hundred ms in B."""


def started(rig: Rig) -> int:
    return rig.b_log().count("Processing file ")


def wait_started(rig: Rig, count: int) -> None:
    wait_for(
        lambda: started(rig) >= count or None,
        timeout=120,
        what=f"B to start {count} files",
        describe=rig.describe,
    )


def pool_children(worker_pid: int) -> list[psutil.Process]:
    return psutil.Process(worker_pid).children()


def test_b_pool_children_killed_mid_task_are_redelivered(rig: Rig) -> None:
    b = rig.start_b()
    rig.start_a()
    rig.start_beat()
    expected = upload_batch(BATCH_FILES, blocks=HEAVY)

    kills = 0
    for fraction in (0.2, 0.5, 0.8):
        wait_started(rig, int(BATCH_FILES * fraction))
        for child in pool_children(b.pid):
            child.send_signal(signal.SIGKILL)
            kills += 1

    rig.settle("B's pool child SIGKILLed", expected)
    assert kills, "no child was running"
    assert "signal 9" in rig.b_log(), "no child was killed while it worked"
    assert started(rig) > BATCH_FILES, "no task was interrupted and redelivered"


def test_b_whole_worker_killed_mid_task_loses_nothing(rig: Rig) -> None:
    b = rig.start_b()
    rig.start_a()
    rig.start_beat()
    expected = upload_batch(BATCH_FILES, blocks=HEAVY)
    wait_started(rig, BATCH_FILES // 3)

    b.signal_group(signal.SIGKILL)  # parent and pool children at once: no warm shutdown
    wait_for(lambda: not b.alive(), timeout=15, what="B's worker to die")
    rig.start_b()

    # A task finished but not yet acked when the worker died runs again: at-least-once.
    rig.settle("B's whole worker SIGKILLed", expected, b_runs_at_most=2)
    assert started(rig) > BATCH_FILES, "no task was interrupted and redelivered"


def test_rabbitmq_stopped_and_restarted_mid_batch(rig: Rig) -> None:
    rig.start_all()
    first = BATCH_FILES // 2
    expected = upload_batch(first, blocks=HEAVY // 4)
    wait_started(rig, first // 3)

    rig.stack.rabbitmq.stop()
    # Uploaded while the broker is down: the send fails, the files stay PENDING.
    during = max(3, BATCH_FILES // 10)
    expected |= upload_batch(during, start=first)
    assert File.objects.filter(pk__in=list(expected), status=File.Status.PENDING).count() >= during
    rig.stack.rabbitmq.start()
    expected |= upload_batch(BATCH_FILES - first - during, start=first + during)

    rig.settle("RabbitMQ stopped and restarted", expected, b_runs_at_most=2)


def test_callbacks_wait_while_as_worker_is_down_then_apply(rig: Rig) -> None:
    rig.start_b()
    rig.start_beat()
    expected = upload_batch(BATCH_FILES)
    wait_for(
        lambda: len(b_tasks_done(rig.b_log())) >= BATCH_FILES or None,
        timeout=120,
        what="B to finish the batch while A's worker is down",
        describe=rig.describe,
    )
    assert File.objects.filter(status=File.Status.PROCESSING).count() == BATCH_FILES

    rig.start_a()
    rig.settle("A's worker down while B finishes", expected)


def test_postgresql_restarted_while_callbacks_arrive(rig: Rig) -> None:
    rig.start_all()
    expected = upload_batch(BATCH_FILES, blocks=HEAVY // 2)
    wait_started(rig, BATCH_FILES // 4)

    connection.close()
    rig.stack.postgres.stop()
    # Callbacks arriving now fail on the database and retry with backoff (native delayed
    # delivery on the quorum queue).
    wait_for(
        lambda: log_events(rig.a_log(), "task.retried") or None,
        timeout=60,
        what="a callback to meet the stopped database",
        describe=rig.describe,
    )
    rig.stack.postgres.start()

    rig.settle("PostgreSQL restarted", expected)


def test_redis_restarted_mid_batch(rig: Rig) -> None:
    rig.start_all()
    expected = upload_batch(BATCH_FILES, blocks=HEAVY // 4)
    wait_started(rig, BATCH_FILES // 3)

    rig.stack.redis.restart()

    rig.settle("Redis (result backend) restarted", expected)


def test_duplicate_late_and_foreign_callbacks_change_nothing(rig: Rig) -> None:
    rig.start_all()
    expected = upload_batch(BATCH_FILES)
    wait_settled(expected)
    before = {f.pk: (f.status, f.task_id, f.result, f.error_code) for f in File.objects.all()}

    for file in File.objects.filter(pk__in=list(expected)):
        current = {"file_id": file.pk, "task_id": file.task_id}
        foreign = {"file_id": file.pk, "task_id": str(uuid.uuid4())}
        # A duplicate success, a failure arriving after the success, and a callback of an
        # attempt that is not the file's.
        file_processing_succeeded.s(file.result, **current).set(queue=QUEUE_SYSTEM_A).delay()
        file_processing_failed.s(file.task_id, **current).set(queue=QUEUE_SYSTEM_A).delay()
        file_processing_succeeded.s(file.result, **foreign).set(queue=QUEUE_SYSTEM_A).delay()

    wait_for(
        lambda: rig.a_log().count("Ignored callback") >= 3 * BATCH_FILES or None,
        timeout=120,
        what="A to look at every duplicate",
        describe=rig.describe,
    )
    after = {f.pk: (f.status, f.task_id, f.result, f.error_code) for f in File.objects.all()}
    assert after == before
    rig.settle("duplicate and out-of-order callbacks", expected)


def _stranded_file(index: int) -> File:
    """A file as A left it after a dispatch whose message is the bad one injected next."""
    from django.conf import settings

    key = f"uploads/raw-{uuid.uuid4().hex}.csv"
    (settings.STORAGE_ROOT / "uploads").mkdir(parents=True, exist_ok=True)
    (settings.STORAGE_ROOT / key).write_bytes(good_csv(index))
    return File.objects.create(
        original_name=f"raw-{index}.csv",
        storage_key=key,
        size_bytes=1,
        status=File.Status.PROCESSING,
        task_id=str(uuid.uuid4()),
        attempts=1,
        dispatched_at=timezone.now(),
    )


def test_bad_messages_are_refused_without_crashing_and_their_files_fail(rig: Rig) -> None:
    rig.start_all()
    url = rig.stack.rabbitmq.url
    dead_before = dead_letter_count(url)
    kinds = ["malformed_json", "invalid_payload", "unknown_version", "unknown_task", "pickle"]
    codes = {
        "malformed_json": ErrorCode.INVALID_REQUEST,
        "invalid_payload": ErrorCode.INVALID_REQUEST,
        "unknown_version": ErrorCode.UNSUPPORTED_SCHEMA_VERSION,
        "unknown_task": ErrorCode.INTERNAL_ERROR,
        "pickle": ErrorCode.INVALID_REQUEST,
    }
    expected: dict[int, Expected] = {}
    refused = 0
    for index in range(BATCH_FILES):
        kind = kinds[index % len(kinds)]
        file = _stranded_file(index)
        expected[file.pk] = Expected(File.Status.FAILED, error_code=codes[kind])
        errback = dict(
            file_processing_failed.s(file_id=file.pk, task_id=file.task_id).set(
                queue=QUEUE_SYSTEM_A
            )
        )
        request = {"schema_version": 1, "file_id": str(file.pk), "storage_key": file.storage_key}
        headers = task_headers(task=PROCESS_TASK, task_id=file.task_id)
        body, content_type = b"", JSON
        if kind == "malformed_json":
            body = b'[[], {"payload": {"schema_version": 1,'
            refused += 1
        elif kind == "invalid_payload":
            del request["storage_key"]
            body = json_bytes(task_body(kwargs={"payload": request}, errbacks=[errback]))
        elif kind == "unknown_version":
            request["schema_version"] = 99
            body = json_bytes(task_body(kwargs={"payload": request}, errbacks=[errback]))
        elif kind == "unknown_task":
            headers = task_headers(task="remote.no_such_task", task_id=file.task_id)
            body = json_bytes(task_body(kwargs={"payload": request}, errbacks=[errback]))
            refused += 1
        else:
            body, content_type = pickle_bytes(task_body(kwargs={"payload": request})), PICKLE
            refused += 1
        publish_raw(
            url,
            routing_key=QUEUE_SYSTEM_B,
            body=body,
            content_type=content_type,
            headers=headers,
            task_id=file.task_id,
        )
    # And one that is not a Celery message at all.
    publish_raw(url, routing_key=QUEUE_SYSTEM_B, body=b"hello", content_type=JSON, headers={})
    refused += 1

    rig.settle("bad messages (raw client)", expected)
    b_worker = rig.b_workers[0]
    assert b_worker.alive(), b_worker.tail()
    wait_for(
        lambda: dead_letter_count(url) - dead_before >= refused or None,
        timeout=30,
        what=f"{refused} refused messages in the dead-letter queue",
    )
    assert dead_letter_count(url) - dead_before == refused
    log = rig.b_log()
    assert "Dead-lettering a message whose body cannot be decoded" in log
    assert "Dead-lettering a message refused as invalid (ContentDisallowed" in log
    assert "Received unregistered task of type 'remote.no_such_task'" in log


POISON_DEADLINE_S = 30


def test_a_file_that_kills_its_worker_every_time_is_dead_lettered_then_failed(rig: Rig) -> None:
    url = rig.stack.rabbitmq.url
    dead_before = dead_letter_count(url)
    # One child, so the poison file's worker is the one killed; a short deadline for the sweep.
    b = rig.start_b(concurrency=1)
    rig.start_a(CROSSLINK_PROCESSING_DEADLINE=str(POISON_DEADLINE_S))
    rig.start_beat()
    poison = upload_batch(1, blocks=HEAVY * 4, start=10_000)
    (poison_id,) = poison
    marker = f"Processing file {poison_id} "

    for delivery in range(1, DELIVERY_LIMIT + 2):
        wait_for(
            lambda n=delivery: rig.b_log().count(marker) >= n or None,
            timeout=60,
            what=f"delivery {delivery} of the poison file",
            describe=rig.describe,
        )
        for child in pool_children(b.pid):
            child.send_signal(signal.SIGKILL)

    # The rest of the batch after the poison: B goes on working once it is dead-lettered.
    expected = upload_batch(BATCH_FILES - 1)
    expected[poison_id] = Expected(File.Status.FAILED, error_code=ErrorCode.NO_OUTCOME)
    rig.settle("poison file over the delivery limit", expected)
    assert rig.b_log().count(marker) == DELIVERY_LIMIT + 1
    assert dead_letter_count(url) - dead_before >= 1
    file = File.objects.get(pk=poison_id)
    assert file.dispatched_at is not None
    assert file.finished_at is not None
    assert file.finished_at - file.dispatched_at >= timedelta(seconds=POISON_DEADLINE_S)
