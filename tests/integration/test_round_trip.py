"""Upload in System A, processing in System B, callbacks back on A: real workers, real services."""

import hashlib

import pytest
from celery import current_app

from files import services
from files.models import File
from harness.files import finished, upload
from harness.logs import log_events
from harness.processes import ManagedProcess
from harness.stores import StoreView
from shared_schema.errors import ErrorCode

pytestmark = pytest.mark.integration

GOOD_CSV = b"id,name,score\n1,ada,9.5\n2,grace,8.25\n3,linus,7\n"


def test_a_good_csv_ends_success_with_system_bs_summary(
    workers: tuple[ManagedProcess, ManagedProcess],
) -> None:
    file = finished(upload("scores.csv", GOOD_CSV), workers)

    assert file.status == File.Status.SUCCESS, file.error_message
    assert file.result is not None
    assert file.result["rows"] == 3
    assert [(c["name"], c["type"]) for c in file.result["columns"]] == [
        ("id", "integer"),
        ("name", "string"),
        ("score", "float"),
    ]
    assert file.result["format"] == "csv"
    assert file.result["output_key"] == f"outputs/{file.storage_key}.normalized.csv"
    assert file.result["sha256"] == hashlib.sha256(GOOD_CSV).hexdigest()
    assert file.attempts == 1
    assert file.error_code == ""


def test_the_callback_leaves_its_outcome_in_the_database_and_nothing_in_the_result_backend(
    workers: tuple[ManagedProcess, ManagedProcess],
) -> None:
    file = finished(upload("scores.csv", GOOD_CSV), workers)
    worker_a = workers[0]

    callback_ids = [
        event["celery_task_id"]
        for event in log_events(
            worker_a.log(),
            "task.received",
            celery_task_name="system_a.file_processing_succeeded",
        )
    ]
    assert file.status == File.Status.SUCCESS
    assert callback_ids
    # B's result is there (the sweeper reads it); the callbacks' own results are not stored.
    assert current_app.backend.get_task_meta(file.task_id)["status"] == "SUCCESS"
    for callback_id in callback_ids:
        assert current_app.backend.get_task_meta(callback_id)["status"] == "PENDING"


def test_a_csv_with_a_short_row_ends_failed_with_the_shared_error_code(
    workers: tuple[ManagedProcess, ManagedProcess],
) -> None:
    file = finished(upload("broken.csv", b"a,b,c\n1,2,3\n4,5\n"), workers)

    assert file.status == File.Status.FAILED
    assert file.error_code == ErrorCode.INCONSISTENT_ROWS
    assert "Line 3" in file.error_message
    assert file.result is None


def test_text_that_is_not_utf8_fails_with_a_message_naming_the_line(
    workers: tuple[ManagedProcess, ManagedProcess],
) -> None:
    file = finished(upload("latin1.csv", "name\ncafé\n".encode("latin-1")), workers)

    assert file.status == File.Status.FAILED
    assert file.error_code == ErrorCode.UNDECODABLE_TEXT
    assert "Line 2" in file.error_message


@pytest.mark.both_stores
def test_a_file_removed_from_storage_before_processing_fails_as_missing(
    workers: tuple[ManagedProcess, ManagedProcess], store: StoreView
) -> None:
    file = File.objects.create(
        original_name="gone.csv", storage_key="uploads/gone.csv", size_bytes=3
    )
    services.file_dispatch(file_id=file.pk)
    assert store.size(file.storage_key) is None

    file = finished(file, workers)

    assert file.status == File.Status.FAILED
    assert file.error_code == ErrorCode.FILE_MISSING


def test_a_failed_file_retried_after_the_fix_succeeds_as_a_new_attempt(
    workers: tuple[ManagedProcess, ManagedProcess],
) -> None:
    from django.conf import settings

    file = finished(upload("fixable.csv", b"a,b\n1\n"), workers)
    assert file.status == File.Status.FAILED
    first_task = file.task_id
    (settings.STORAGE_ROOT / file.storage_key).write_bytes(b"a,b\n1,2\n")

    assert services.file_retry(file_id=file.pk).applied
    file = finished(file, workers)

    assert file.status == File.Status.SUCCESS
    assert file.attempts == 2
    assert file.task_id != first_task
    assert file.result is not None
    assert file.result["rows"] == 1
