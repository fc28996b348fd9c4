"""Nothing lost, nothing stuck, nothing wrong: a batch of files through each fault, on a private
stack, at both systems' default settings.

Each test sends a batch, breaks one thing mid-batch, and settles: every file ends SUCCESS (with
its own checksum) or FAILED with the reason its content deserves, A applied each outcome exactly
once, nothing is left PENDING or PROCESSING, and the files the fault hit are final within a
minute of it clearing. ``make chaos`` prints one line per fault.
"""

import signal
import subprocess
import uuid

import psutil
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone

from files import services
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
from harness.die_before_send import DEATHS_ENV
from harness.logs import log_events
from harness.processes import A_BIN, SYSTEM_A
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

MAX_ATTEMPTS = 3
"""CROSSLINK_MAX_ATTEMPTS at its default."""

pytestmark = pytest.mark.integration

HEAVY = 40
"""Blocks per file where a fault must land mid-task: ~1.2 MB, a few hundred ms in B."""


def started(rig: Rig) -> int:
    return len(log_events(rig.b_log(), "file.processing"))


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
        kills += kill_busy_children(rig, b.pid)

    rig.settle("B's pool child SIGKILLed", expected, cleared_at=timezone.now())
    assert kills, "no child was running"
    assert "signal 9" in rig.b_log(), "no child was killed while it worked"
    assert started(rig) > BATCH_FILES, "no task was interrupted and redelivered"


def test_b_whole_worker_killed_mid_task_loses_nothing(rig: Rig) -> None:
    b = rig.start_b()
    rig.start_a()
    rig.start_beat()
    expected = upload_batch(BATCH_FILES, blocks=HEAVY)
    wait_started(rig, BATCH_FILES // 3)

    wait_busy(rig)
    b.signal_group(signal.SIGKILL)  # parent and pool children at once: no warm shutdown
    wait_for(lambda: not b.alive(), timeout=15, what="B's worker to die")
    rig.start_b()
    cleared = timezone.now()

    # A task finished but not yet acked when the worker died runs again: at-least-once.
    rig.settle("B's whole worker SIGKILLed", expected, b_runs_at_most=2, cleared_at=cleared)
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
    cleared = timezone.now()
    affected = list(expected)
    expected |= upload_batch(BATCH_FILES - first - during, start=first + during)

    rig.settle(
        "RabbitMQ stopped and restarted",
        expected,
        b_runs_at_most=2,
        cleared_at=cleared,
        affected=affected,
    )


def test_callbacks_wait_while_as_worker_is_down_then_apply(rig: Rig) -> None:
    # A's worker has run (its queue exists) and is down. Started and stopped here, not assumed
    # from an earlier test: on the session's fresh broker A's queue would not exist yet, and A
    # sends nothing whose reply could not be delivered (shared_schema.wire.processing_send).
    rig.start_a().stop()
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
    rig.settle("A's worker down while B finishes", expected, cleared_at=timezone.now())


def test_postgresql_restarted_while_callbacks_arrive(rig: Rig) -> None:
    rig.start_a()
    rig.start_beat()
    expected = upload_batch(BATCH_FILES, blocks=HEAVY // 2)

    connection.close()
    rig.stack.postgres.stop()
    # B starts only now, so its callbacks arrive while the database is down however fast it
    # works. (Started before the stop, a quick B could finish the batch first, and no callback
    # would ever meet the stopped database: the wait below then failed on a quiet machine.)
    rig.start_b()
    # Callbacks arriving now fail on the database and retry with backoff (native delayed
    # delivery on the quorum queue).
    wait_for(
        lambda: log_events(rig.a_log(), "task.retried") or None,
        timeout=60,
        what="a callback to meet the stopped database",
        describe=rig.describe,
    )
    rig.stack.postgres.start()
    cleared = timezone.now()

    rig.settle("PostgreSQL restarted", expected, cleared_at=cleared)


def test_redis_restarted_mid_batch(rig: Rig) -> None:
    rig.start_all()
    expected = upload_batch(BATCH_FILES, blocks=HEAVY // 4)
    wait_started(rig, BATCH_FILES // 3)

    rig.stack.redis.restart()

    rig.settle("Redis (result backend) restarted", expected, cleared_at=timezone.now())


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
        lambda: len(log_events(rig.a_log(), "file.callback_ignored")) >= 3 * BATCH_FILES or None,
        timeout=120,
        what="A to look at every duplicate",
        describe=rig.describe,
    )
    after = {f.pk: (f.status, f.task_id, f.result, f.error_code) for f in File.objects.all()}
    assert after == before
    rig.settle("duplicate and out-of-order callbacks", expected)


def _stored_file(index: int, *, name: str = "raw", **fields: object) -> File:
    """A file stored and recorded by hand, in the state ``fields`` say."""
    from django.conf import settings

    key = f"uploads/{name}-{uuid.uuid4().hex}.csv"
    (settings.STORAGE_ROOT / "uploads").mkdir(parents=True, exist_ok=True)
    (settings.STORAGE_ROOT / key).write_bytes(good_csv(index))
    return File.objects.create(
        original_name=f"{name}-{index}.csv", storage_key=key, size_bytes=1, **fields
    )


def _stranded_file(index: int) -> File:
    """A file as A left it after a dispatch whose message is the bad one injected next."""
    now = timezone.now()
    return _stored_file(
        index,
        status=File.Status.PROCESSING,
        task_id=str(uuid.uuid4()),
        attempts=1,
        dispatched_at=now,
        sent_at=now,  # sent (the bad message below): not the outbox relay's to send again
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

    rig.settle("bad messages (raw client)", expected, cleared_at=timezone.now())
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


POISON_BLOCKS = HEAVY * 16
"""~19 MB: seconds in B even on a quiet machine, so each kill lands before the run could end
(a kill that arrives after the task finished is no fault at all, and the test waited in vain)."""


def b_starts(rig: Rig, file_id: int) -> list[dict[str, object]]:
    """B's worker starting ``file_id``, once per delivery."""
    return log_events(rig.b_log(), "file.processing", file_id=file_id)


def kill_on_deliveries(rig: Rig, b_pid: int, file_id: int, deliveries: int) -> None:
    """SIGKILL B's pool child each time it starts ``file_id``, for its first ``deliveries``."""
    for delivery in range(1, deliveries + 1):
        wait_for(
            lambda n=delivery: len(b_starts(rig, file_id)) >= n or None,
            timeout=90,
            what=f"delivery {delivery} of file {file_id}",
            describe=rig.describe,
        )
        for child in pool_children(b_pid):
            child.send_signal(signal.SIGKILL)


def test_a_file_that_kills_its_worker_every_time_fails_worker_lost_after_its_attempts(
    rig: Rig,
) -> None:
    url = rig.stack.rabbitmq.url
    # One child, so the poison file's worker is the one killed.
    b = rig.start_b(concurrency=1)
    dead_before = dead_letter_count(url)  # declared by B's worker as it starts
    rig.start_a()
    rig.start_beat()
    poison = upload_batch(1, blocks=POISON_BLOCKS, start=10_000)
    (poison_id,) = poison

    # Every delivery of every attempt: the queue's delivery limit ends each attempt, B's
    # dead-letter watcher reports it, A sends a new one, up to its attempt limit.
    kill_on_deliveries(rig, b.pid, poison_id, MAX_ATTEMPTS * (DELIVERY_LIMIT + 1))
    cleared = timezone.now()

    # The rest of the batch after the poison: B goes on working once it is dead-lettered.
    expected = upload_batch(BATCH_FILES - 1)
    expected[poison_id] = Expected(File.Status.FAILED, error_code=ErrorCode.WORKER_LOST)
    rig.settle(
        "poison file over the delivery limit", expected, cleared_at=cleared, affected=[poison_id]
    )
    assert len(b_starts(rig, poison_id)) == MAX_ATTEMPTS * (DELIVERY_LIMIT + 1)
    assert dead_letter_count(url) - dead_before == MAX_ATTEMPTS
    file = File.objects.get(pk=poison_id)
    assert file.attempts == MAX_ATTEMPTS


def broken_csv(index: int, *, blocks: int) -> bytes:
    """Good rows for ``blocks`` blocks, then a short one: INCONSISTENT_ROWS near the end."""
    return good_csv(index, blocks=blocks) + b"1,short\n"


def test_b_dying_five_times_on_one_message_is_the_systems_problem_not_the_files(
    rig: Rig,
) -> None:
    b = rig.start_b(concurrency=1)
    rig.start_a()
    rig.start_beat()
    good = upload_batch(1, blocks=POISON_BLOCKS, start=20_000)
    (good_id,) = good
    broken = services.file_create(
        upload=SimpleUploadedFile("broken.csv", broken_csv(20_001, blocks=POISON_BLOCKS))
    )

    # A flaky host, not the files: B's worker dies on each of the first deliveries of both,
    # until the queue dead-letters each message.
    for file_id in (good_id, broken.pk):
        kill_on_deliveries(rig, b.pid, file_id, DELIVERY_LIMIT + 1)
    cleared = timezone.now()

    expected = upload_batch(BATCH_FILES - 2)
    expected |= good
    expected[broken.pk] = Expected(File.Status.FAILED, error_code=ErrorCode.INCONSISTENT_ROWS)
    rig.settle(
        "B's worker died 5x with one message unacked",
        expected,
        cleared_at=cleared,
        affected=[good_id, broken.pk],
    )
    for file_id in (good_id, broken.pk):
        assert File.objects.get(pk=file_id).attempts == 2


WORKER_DEATHS = 2
UPLOAD_DEATHS = 2


def test_a_sender_dying_between_claim_and_publish_leaves_the_relay_to_send(rig: Rig) -> None:
    rig.start_b()
    rig.start_beat()
    deaths = rig.log_dir / "deaths"
    hooked = {"include": "harness.die_before_send", DEATHS_ENV: str(deaths)}

    # A's worker claims a PENDING file in the relay and dies before publishing it, three times.
    waiting = [
        _stored_file(30_000 + n, name="pending", status=File.Status.PENDING)
        for n in range(WORKER_DEATHS)
    ]
    deaths.write_text(str(WORKER_DEATHS))
    for death in range(WORKER_DEATHS):
        # This worker's relay leaves the claims of the ones before alone (they are the final
        # worker's to send) and claims a PENDING file, so that each death leaves one more.
        worker = rig.start_a(ready=False, CROSSLINK_RELAY_UNSENT_AFTER="3600", **hooked)
        wait_for(
            lambda w=worker: not w.alive() or None,
            timeout=90,
            what=f"A's worker to die before a send ({death + 1} of {WORKER_DEATHS})",
            describe=rig.describe,
        )

    # Uploads whose process dies after its commit, before the send.
    for n in range(UPLOAD_DEATHS):
        deaths.write_text("1")
        uploader = subprocess.run(
            [
                str(A_BIN / "python"),
                "-m",
                "harness.upload_and_die",
                f"dying-{40_000 + n}.csv",  # <kind>-<content index>, as _indexes reads it
                str(40_000 + n),
            ],
            cwd=SYSTEM_A,
            env={
                **rig.env(**{DEATHS_ENV: str(deaths)}),
                "DJANGO_SETTINGS_MODULE": "config.settings",
            },
            capture_output=True,
            timeout=120,
            start_new_session=True,
        )
        assert uploader.returncode == -signal.SIGKILL, uploader.stderr.decode()[-2000:]

    orphans = list(
        File.objects.filter(status=File.Status.PROCESSING, sent_at__isnull=True).values_list(
            "pk", flat=True
        )
    )
    assert len(orphans) == WORKER_DEATHS + UPLOAD_DEATHS, "not every death left a claim unsent"
    expected = upload_batch(BATCH_FILES - len(orphans))
    expected |= {
        pk: Expected(File.Status.SUCCESS, sha256=_sha256(good_csv(index)))
        for pk, index in _indexes(orphans).items()
    }

    rig.start_a(**hooked)  # the counter is spent: this one lives
    cleared = timezone.now()
    rig.settle(
        "A's senders died between claim and publish",
        expected,
        cleared_at=cleared,
        affected=orphans + [f.pk for f in waiting],
    )
    assert {f.attempts for f in File.objects.filter(pk__in=[w.pk for w in waiting])} == {1}


def _sha256(content: bytes) -> str:
    import hashlib

    return hashlib.sha256(content).hexdigest()


def _indexes(ids: list[int]) -> dict[int, int]:
    """Each file's content index, from the name it was stored under (``<kind>-<index>.csv``)."""
    names = File.objects.filter(pk__in=ids).values_list("pk", "original_name")
    return {pk: int(name.rsplit("-", 1)[1].removesuffix(".csv")) for pk, name in names}


def kill_busy_children(rig: Rig, b_pid: int) -> int:
    """SIGKILL B's pool children once one of them is running a file; how many were killed."""
    wait_busy(rig)
    children = pool_children(b_pid)
    for child in children:
        child.send_signal(signal.SIGKILL)
    return len(children)


def wait_busy(rig: Rig) -> None:
    """Until B has started more files than it has finished: one is running now."""
    wait_for(
        lambda: started(rig) > len(b_tasks_done(rig.b_log())) or None,
        timeout=60,
        what="B to be running a file",
        describe=rig.describe,
    )
