"""The task adapter's own rules, and the wire configuration B publishes callbacks with."""

import pytest

from shared_schema.errors import InvalidRequest, UnsupportedSchemaVersion
from shared_schema.names import PROCESS_TASK, QUEUE_SYSTEM_A, QUEUE_SYSTEM_B
from system_b.celery_app import app
from system_b.tasks import request_parse


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


def test_b_declares_both_durable_queues_and_defaults_to_its_own() -> None:
    # B publishes A's callbacks, so it declares A's queue too (identically, from the shared
    # contract); its worker consumes only its own, with `--queues system_b.remote`.
    queues = app.conf.task_queues

    assert sorted(q.name for q in queues) == [QUEUE_SYSTEM_A, QUEUE_SYSTEM_B]
    assert app.conf.task_default_queue == QUEUE_SYSTEM_B
    assert all(q.durable for q in queues)
    assert all(q.queue_arguments["x-queue-type"] == "quorum" for q in queues)
    assert app.conf.broker_transport_options["confirm_publish"] is True
    assert app.conf.worker_consumer == "system_b.wire:Consumer"
