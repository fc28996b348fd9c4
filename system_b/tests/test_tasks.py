"""The task adapter's own rules, and the wire configuration B publishes callbacks with.

The task is called directly here (a plain function call, no broker, no eager mode): what it
raises is what a worker would record, and for autoretry_for errors, what it would retry.
"""

import dataclasses
import errno
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from celery.exceptions import SoftTimeLimitExceeded

from shared_schema.errors import (
    InvalidRequest,
    ProcessingTimeout,
    StorageUnavailable,
    UnsupportedFormat,
    UnsupportedSchemaVersion,
)
from shared_schema.names import PROCESS_TASK, QUEUE_SYSTEM_A, QUEUE_SYSTEM_B
from shared_schema.payloads import ProcessingProgress, ProcessingRequest
from shared_schema.storage import LocalStore, StoredFile
from shared_schema.wire import PeerQueue
from system_b import tasks
from system_b.celery_app import app
from system_b.settings import settings
from system_b.tasks import process, progress_throttled, request_parse


def test_a_valid_payload_parses_into_a_request() -> None:
    request = request_parse({"schema_version": 1, "file_id": "3", "storage_key": "uploads/a"})

    assert request.storage_key == "uploads/a"


@pytest.mark.parametrize("payload", [None, "uploads/a", ["uploads/a"]])
def test_a_payload_that_is_not_an_object_is_an_invalid_request(payload: object) -> None:
    with pytest.raises(InvalidRequest, match="JSON object"):
        request_parse(payload)


@pytest.mark.parametrize("version", [None, 0, 2, "1"])
def test_an_unknown_schema_version_is_refused_before_anything_else(version: object) -> None:
    with pytest.raises(UnsupportedSchemaVersion, match=repr(version)):
        request_parse({"schema_version": version, "file_id": "3", "storage_key": "k"})


def test_a_payload_missing_fields_names_them() -> None:
    with pytest.raises(InvalidRequest, match="storage_key"):
        request_parse({"schema_version": 1, "file_id": "3"})


def test_b_registers_remote_processing_under_the_shared_name() -> None:
    assert PROCESS_TASK in app.tasks


def test_b_speaks_json_only() -> None:
    conf = app.conf

    assert conf.accept_content == ["json"]
    assert conf.result_accept_content == ["json"]
    assert (conf.task_serializer, conf.result_serializer) == ("json", "json")


def test_b_acknowledges_late_and_requeues_work_of_a_lost_worker() -> None:
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1


def test_b_declares_only_its_own_quorum_queue_and_knows_any_callers_queue_by_name_only() -> None:
    declared = app.conf.task_queues
    known = app.amqp.queues

    assert [q.name for q in declared] == [QUEUE_SYSTEM_B]
    assert app.conf.task_default_queue == QUEUE_SYSTEM_B
    assert all(q.durable for q in declared)
    assert all(q.queue_arguments["x-queue-type"] == "quorum" for q in declared)
    for caller in (QUEUE_SYSTEM_A, "system_c.callbacks"):
        assert isinstance(known[caller], PeerQueue)
        # A nameless direct exchange: Celery publishes through the default exchange
        # (AMQP.send_task_message, "convert to anon-exchange"), binding nothing.
        assert (known[caller].exchange.name, known[caller].exchange.type) == ("", "direct")
        # Looked up, never added: nothing that walks B's queues touches a caller's.
        assert caller not in known
        assert caller not in app.amqp.queues.consume_from
    assert app.conf.broker_transport_options["confirm_publish"] is True


# --- Failure handling: what retries, what does not, and the time limit -----------------------


def payload_for(request: ProcessingRequest) -> dict[str, object]:
    return request.model_dump(mode="json")


class FlakyMount(LocalStore):
    """A directory whose every read fails as a flaky network mount's does."""

    @contextmanager
    def open_read(self, key: str) -> Iterator[StoredFile]:
        raise OSError(errno.EIO, "Input/output error", "/mnt/storage/" + key)
        yield  # a generator, as the store's own open_read is


class ObjectStorageDown(LocalStore):
    """A store that fails as the S3 store does when the object storage stops answering."""

    @contextmanager
    def open_read(self, key: str) -> Iterator[StoredFile]:
        raise StorageUnavailable("Object storage did not answer while trying to read (EOF).")
        yield


def test_an_os_error_from_storage_becomes_a_retryable_storage_unavailable(
    storage_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tasks, "store_open", lambda _: FlakyMount(storage_root))

    # Called directly, a task re-raises what autoretry would retry with.
    with pytest.raises(StorageUnavailable, match="Input/output error") as failure:
        process(payload_for(ProcessingRequest(file_id="1", storage_key="uploads/a.csv")))

    assert failure.value.retryable
    assert "/mnt/storage" not in failure.value.message


def test_the_object_stores_storage_unavailable_reaches_autoretry_as_it_is(
    storage_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tasks, "store_open", lambda _: ObjectStorageDown(storage_root))

    with pytest.raises(StorageUnavailable) as failure:
        process(payload_for(ProcessingRequest(file_id="1", storage_key="uploads/a.csv")))

    assert failure.value.message == "Object storage did not answer while trying to read (EOF)."
    assert failure.value.__cause__ is None  # not caught and raised again as something else


def test_only_storage_unavailable_is_retried_and_retries_are_bounded() -> None:
    options = app.tasks[PROCESS_TASK]

    assert options.autoretry_for == (StorageUnavailable,)  # type: ignore[attr-defined]
    assert options.max_retries == 5
    assert options.retry_backoff == 5  # type: ignore[attr-defined]
    assert options.retry_backoff_max == 120  # type: ignore[attr-defined]
    assert options.retry_jitter is True  # type: ignore[attr-defined]


def test_a_damaged_gzip_is_the_files_fault_not_a_storage_fault(
    stored: Callable[[bytes], ProcessingRequest],
    storage_root: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # gzip.BadGzipFile is an OSError: it must not be mistaken for a flaky mount and retried.
    monkeypatch.setattr(
        tasks, "settings", dataclasses.replace(settings, storage_root=str(storage_root))
    )
    request = stored(b"\x1f\x8b\x08\x00not deflate at all")

    with pytest.raises(UnsupportedFormat, match="gzip"):
        process(payload_for(request))


def test_the_soft_time_limit_fails_the_task_as_a_processing_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def slow(**_: object) -> None:
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(tasks, "file_process", slow)

    with pytest.raises(ProcessingTimeout, match="time limit"):
        process(payload_for(ProcessingRequest(file_id="1", storage_key="uploads/a.csv")))


def test_the_time_limits_come_from_settings_soft_first() -> None:
    assert app.conf.task_soft_time_limit == settings.soft_time_limit
    assert app.conf.task_time_limit == settings.hard_time_limit
    assert settings.hard_time_limit > settings.soft_time_limit


# --- Progress is published at a bounded rate --------------------------------------------------


def test_progress_waits_one_interval_then_goes_out_at_most_once_per_interval() -> None:
    now = [100.0]
    published: list[int] = []
    offer = progress_throttled(
        lambda p: published.append(p.rows), interval=1.0, clock=lambda: now[0]
    )

    for rows in range(10):
        offer(ProcessingProgress(bytes_read=rows, bytes_total=10, rows=rows))
        now[0] += 0.3

    assert published == [4, 8]


def test_b_dead_letters_messages_it_cannot_read_instead_of_dropping_them() -> None:
    assert app.conf.worker_consumer == "shared_schema.wire.worker:Consumer"
