import ast
from collections.abc import Callable
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from kombu.exceptions import OperationalError
from pytest_django import DjangoCaptureOnCommitCallbacks
from pytest_django import Settings as SettingsWrapper

from config.testing import celery_broker
from files import services
from files.models import File, FileEvent
from shared_schema.errors import ErrorCode, InconsistentRows, WorkerLost
from shared_schema.payloads import ProcessingResult

from .conftest import GOOD_CSV, csv_upload

MakeFile = Callable[..., File]


def a_result(storage_key: str = "uploads/task-1.csv") -> ProcessingResult:
    return ProcessingResult(
        storage_key=storage_key,
        sha256="0" * 64,
        size_bytes=len(GOOD_CSV),
        format="csv",  # type: ignore[arg-type]
        rows=2,
        columns=({"name": "id"}, {"name": "name"}),  # type: ignore[arg-type]
    )


@pytest.mark.django_db
def test_an_upload_is_stored_under_the_root_and_recorded_as_its_first_attempt(
    storage_root: Path,
) -> None:
    file = services.file_create(upload=csv_upload())

    stored = File.objects.get(pk=file.pk)
    assert stored.status == File.Status.PROCESSING
    assert stored.task_id
    assert stored.attempts == 1
    assert stored.dispatched_at is not None
    assert stored.original_name == "people.csv"
    assert stored.size_bytes == len(GOOD_CSV)
    assert stored.storage_key.startswith("uploads/")
    assert stored.storage_key.endswith(".csv")
    assert (storage_root / stored.storage_key).read_bytes() == GOOD_CSV


@pytest.mark.django_db
def test_an_upload_records_its_arrival_and_its_first_attempt_in_its_history(
    storage_root: Path,
) -> None:
    file = services.file_create(upload=csv_upload())

    history = [
        (event.kind, event.from_status, event.to_status, event.task_id, event.detail)
        for event in FileEvent.objects.filter(file=file).order_by("id")
    ]
    assert history == [
        (FileEvent.Kind.UPLOADED, "", File.Status.PENDING, "", f"{len(GOOD_CSV)} bytes"),
        (
            FileEvent.Kind.SENT,
            File.Status.PENDING,
            File.Status.PROCESSING,
            file.task_id,
            "attempt 1",
        ),
    ]


def test_an_upload_belongs_to_the_user_who_made_it(storage_root: Path, user: User) -> None:
    file = services.file_create(upload=csv_upload(), owner=user)

    assert File.objects.get(pk=file.pk).owner == user


@pytest.mark.django_db
def test_an_upload_is_dispatched_only_once_the_transaction_commits(
    storage_root: Path, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        services.file_create(upload=csv_upload())

    assert len(callbacks) == 1


@pytest.mark.django_db
def test_an_empty_upload_is_rejected_and_nothing_is_stored(storage_root: Path) -> None:
    with pytest.raises(services.UploadRejected, match="empty"):
        services.file_create(upload=csv_upload(b""))

    assert not File.objects.exists()
    assert not any(storage_root.rglob("*.*"))


@pytest.mark.django_db
def test_an_upload_over_the_limit_is_rejected_and_nothing_is_stored(
    storage_root: Path, settings: SettingsWrapper
) -> None:
    settings.MAX_UPLOAD_BYTES = 5

    with pytest.raises(services.UploadRejected, match="limit"):
        services.file_create(upload=csv_upload())

    assert not File.objects.exists()


def test_success_applies_to_the_current_attempt(processing_file: MakeFile) -> None:
    file = processing_file()

    outcome = services.file_mark_succeeded(file_id=file.pk, task_id="task-1", result=a_result())

    file.refresh_from_db()
    assert outcome.applied
    assert file.status == File.Status.SUCCESS
    assert file.result is not None
    assert file.result["rows"] == 2
    assert file.finished_at is not None


def test_a_duplicate_success_callback_changes_nothing_and_says_what_it_found(
    processing_file: MakeFile,
) -> None:
    file = processing_file()
    services.file_mark_succeeded(file_id=file.pk, task_id="task-1", result=a_result())
    finished_at = File.objects.get(pk=file.pk).finished_at

    outcome = services.file_mark_succeeded(file_id=file.pk, task_id="task-1", result=a_result())

    assert not outcome.applied
    assert outcome.found == File.Status.SUCCESS
    assert File.objects.get(pk=file.pk).finished_at == finished_at


def test_a_failure_after_success_does_not_overwrite_it(processing_file: MakeFile) -> None:
    file = processing_file()
    services.file_mark_succeeded(file_id=file.pk, task_id="task-1", result=a_result())

    outcome = services.file_mark_failed(
        file_id=file.pk, task_id="task-1", code=ErrorCode.INTERNAL_ERROR, message="late"
    )

    assert not outcome.applied
    assert File.objects.get(pk=file.pk).status == File.Status.SUCCESS


def test_a_failure_records_the_code_and_the_message(processing_file: MakeFile) -> None:
    file = processing_file()

    services.file_mark_failed(
        file_id=file.pk, task_id="task-1", code=ErrorCode.INCONSISTENT_ROWS, message="Line 3"
    )

    file.refresh_from_db()
    assert file.status == File.Status.FAILED
    assert (file.error_code, file.error_message) == ("inconsistent_rows", "Line 3")
    assert "as many fields as the header" in file.error_hint


def test_a_callback_for_another_attempts_task_is_ignored(processing_file: MakeFile) -> None:
    file = processing_file(task_id="task-2", attempts=2)

    outcome = services.file_mark_succeeded(file_id=file.pk, task_id="task-1", result=a_result())

    assert not outcome.applied
    assert outcome.found == File.Status.PROCESSING
    assert File.objects.get(pk=file.pk).status == File.Status.PROCESSING


def test_a_retry_starts_a_new_pending_attempt_from_failed_only(
    processing_file: MakeFile, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    file = processing_file()
    assert not services.file_retry(file_id=file.pk).applied  # still PROCESSING
    services.file_mark_failed(
        file_id=file.pk, task_id="task-1", code=ErrorCode.PROCESSING_TIMEOUT, message="slow"
    )

    with django_capture_on_commit_callbacks() as callbacks:
        outcome = services.file_retry(file_id=file.pk)

    file.refresh_from_db()
    assert outcome.applied
    assert (file.status, file.task_id, file.error_code) == (File.Status.PENDING, "", "")
    assert len(callbacks) == 1


def test_the_late_callback_of_an_old_attempt_is_ignored_after_a_retry(
    processing_file: MakeFile,
) -> None:
    file = processing_file()
    services.file_mark_failed(
        file_id=file.pk, task_id="task-1", code=ErrorCode.STORAGE_UNAVAILABLE, message="x"
    )
    services.file_retry(file_id=file.pk)

    outcome = services.file_mark_succeeded(file_id=file.pk, task_id="task-1", result=a_result())

    assert not outcome.applied
    assert File.objects.get(pk=file.pk).status == File.Status.PENDING


def test_a_file_cannot_be_processing_without_a_task_id(processing_file: MakeFile) -> None:
    file = processing_file()

    with pytest.raises(IntegrityError), transaction.atomic():
        File.objects.filter(pk=file.pk).update(task_id="")


@pytest.mark.django_db(transaction=True)
def test_when_the_broker_is_down_the_file_stays_pending_and_unsent(
    storage_root: Path, settings: SettingsWrapper
) -> None:
    # A real connection attempt to a port nothing listens on: the broker is down.
    with celery_broker("amqp://guest:guest@127.0.0.1:1//"):
        file = services.file_create(upload=csv_upload())

    assert file.status == File.Status.PENDING  # the caller's copy says so too
    file.refresh_from_db()
    assert file.status == File.Status.PENDING
    assert (file.task_id, file.attempts) == ("", 0)


@pytest.mark.django_db(transaction=True)
def test_a_dispatch_that_the_broker_refuses_leaves_the_file_pending_for_the_sweeper() -> None:
    file = File.objects.create(original_name="a.csv", storage_key="uploads/a.csv", size_bytes=3)

    with celery_broker("amqp://guest:guest@127.0.0.1:1//"), pytest.raises(OperationalError):
        services.file_dispatch(file_id=file.pk)

    file.refresh_from_db()
    assert (file.status, file.task_id, file.attempts) == (File.Status.PENDING, "", 0)


@pytest.mark.django_db(transaction=True)
def test_a_dispatch_records_its_claim_as_the_next_attempt_and_undoes_it_when_the_send_fails() -> (
    None
):
    file = File.objects.create(
        original_name="a.csv", storage_key="uploads/a.csv", size_bytes=3, attempts=2
    )

    with celery_broker("amqp://guest:guest@127.0.0.1:1//"), pytest.raises(OperationalError):
        services.file_dispatch(file_id=file.pk)

    claimed, undone = FileEvent.objects.filter(file=file).order_by("id")
    assert (claimed.kind, claimed.from_status, claimed.to_status, claimed.detail) == (
        FileEvent.Kind.SENT,
        File.Status.PENDING,
        File.Status.PROCESSING,
        "attempt 3",
    )
    assert (undone.kind, undone.task_id) == (FileEvent.Kind.SEND_FAILED, claimed.task_id)
    file.refresh_from_db()
    assert (file.status, file.attempts) == (File.Status.PENDING, 2)


@pytest.mark.django_db
def test_dispatching_a_file_that_does_not_exist_says_so() -> None:
    with pytest.raises(File.DoesNotExist):
        services.file_dispatch(file_id=404)


def test_dispatching_a_file_that_is_not_pending_changes_nothing_and_says_what_it_found(
    processing_file: MakeFile,
) -> None:
    file = processing_file()

    outcome = services.file_dispatch(file_id=file.pk)

    assert not outcome.applied
    assert outcome.found == File.Status.PROCESSING
    assert File.objects.get(pk=file.pk).task_id == "task-1"


@pytest.mark.services
def test_each_test_run_uses_a_database_of_its_own(db: None) -> None:
    from django.db import connection

    assert connection.settings_dict["NAME"].startswith("test_crosslink_")


# --- Applying B's outcome: one service for callbacks and the sweeper --------------------------


@pytest.mark.django_db
def test_a_valid_result_marks_the_file_succeeded(processing_file: MakeFile) -> None:
    file = processing_file()

    applied = services.file_apply_outcome(
        file_id=file.pk, task_id=file.task_id, succeeded=True, value=a_result().model_dump()
    )

    file.refresh_from_db()
    assert applied is services.Applied.SUCCEEDED
    assert file.status == File.Status.SUCCESS


@pytest.mark.django_db
def test_a_result_outside_the_contract_fails_the_file_as_internal(
    processing_file: MakeFile,
) -> None:
    file = processing_file()

    applied = services.file_apply_outcome(
        file_id=file.pk, task_id=file.task_id, succeeded=True, value={"rows": "many"}
    )

    file.refresh_from_db()
    assert applied is services.Applied.FAILED
    assert file.error_code == ErrorCode.INTERNAL_ERROR


@pytest.mark.django_db
def test_a_contract_failure_fails_the_file_with_its_own_code(processing_file: MakeFile) -> None:
    file = processing_file()

    applied = services.file_apply_outcome(
        file_id=file.pk, task_id=file.task_id, succeeded=False, value=InconsistentRows("Line 3")
    )

    file.refresh_from_db()
    assert applied is services.Applied.FAILED
    assert (file.error_code, file.error_message) == (ErrorCode.INCONSISTENT_ROWS, "Line 3")


@pytest.mark.django_db
def test_a_lost_worker_is_not_the_files_fault_and_starts_a_new_attempt(
    processing_file: MakeFile,
) -> None:
    file = processing_file(task_id="first", attempts=1)

    applied = services.file_apply_outcome(
        file_id=file.pk, task_id="first", succeeded=False, value=WorkerLost("died 5 times")
    )

    file.refresh_from_db()
    assert applied is services.Applied.RETRIED
    assert file.status == File.Status.PROCESSING
    assert file.task_id != "first"
    assert file.attempts == 2
    assert file.sent_at is None  # the relay's, if the send after commit never happens


@pytest.mark.django_db
def test_a_lost_worker_on_the_last_attempt_fails_the_file_with_that_reason(
    processing_file: MakeFile,
) -> None:
    file = processing_file(task_id="last", attempts=3)

    applied = services.file_apply_outcome(
        file_id=file.pk,
        task_id="last",
        succeeded=False,
        value=WorkerLost("died 5 times"),
        max_attempts=3,
    )

    file.refresh_from_db()
    assert applied is services.Applied.FAILED
    assert file.error_code == ErrorCode.WORKER_LOST


@pytest.mark.django_db
def test_a_failure_with_no_recorded_reason_is_no_verdict_and_blames_nothing(
    processing_file: MakeFile, caplog: pytest.LogCaptureFixture
) -> None:
    file = processing_file()

    applied = services.file_apply_outcome(
        file_id=file.pk, task_id=file.task_id, succeeded=False, value=None
    )

    file.refresh_from_db()
    assert applied is services.Applied.WAITING
    assert file.status == File.Status.PROCESSING
    assert "outside the contract" not in caplog.text


@pytest.mark.django_db
def test_a_wire_failure_leaves_the_file_processing(processing_file: MakeFile) -> None:
    file = processing_file()

    applied = services.file_apply_outcome(
        file_id=file.pk,
        task_id=file.task_id,
        succeeded=False,
        value=OperationalError("connection refused"),
    )

    file.refresh_from_db()
    assert applied is services.Applied.WAITING
    assert file.status == File.Status.PROCESSING


@pytest.mark.django_db
def test_an_outcome_for_another_attempt_is_ignored(processing_file: MakeFile) -> None:
    file = processing_file(task_id="current")

    applied = services.file_apply_outcome(
        file_id=file.pk, task_id="old", succeeded=False, value=WorkerLost("died")
    )

    file.refresh_from_db()
    assert applied is services.Applied.IGNORED
    assert (file.status, file.task_id, file.attempts) == (File.Status.PROCESSING, "current", 1)


def test_tasks_import_services_only_inside_their_bodies() -> None:
    # services -> dispatch -> tasks must not lead back to services at import time.
    tree = ast.parse((Path(services.__file__).parent / "tasks.py").read_text())
    top_level = [node for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom)]
    imported = {alias.name for node in top_level for alias in node.names} | {
        node.module or "" for node in top_level if isinstance(node, ast.ImportFrom)
    }
    assert not imported & {"services", "sweeper", "files.services", "files.sweeper"}


@pytest.mark.django_db
def test_an_unsent_claim_the_relay_cannot_send_stays_claimed_for_its_next_run(
    processing_file: MakeFile,
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    file = processing_file(dispatched_at=timezone.now() - timedelta(minutes=1))
    pending = processing_file(task_id="other")
    File.objects.filter(pk=pending.pk).update(status=File.Status.PENDING, task_id="", attempts=0)

    with celery_broker("amqp://guest:guest@127.0.0.1:1//"):
        report = services.file_relay(now=timezone.now(), unsent_after=timedelta(seconds=10))

    file.refresh_from_db()
    pending.refresh_from_db()
    assert report.resent == []
    assert report.sent == []
    # The claim is the outbox entry: not undone, sent by a later run under the same task id.
    assert (file.status, file.task_id, file.sent_at) == (File.Status.PROCESSING, "task-1", None)
    assert pending.status == File.Status.PENDING  # the relay stopped at the first failure
