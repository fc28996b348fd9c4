"""A's callbacks, called in this process as A's worker calls them (no eager mode: a direct
call of the task function), against the real result backend."""

from collections.abc import Callable
from typing import Any

import pytest

from files.models import File
from files.tasks import file_processing_failed
from shared_schema.errors import ErrorCode, InconsistentRows

from .conftest import a_result

MakeFile = Callable[..., File]
StoreState = Callable[[str, Any], str]


@pytest.mark.django_db
def test_an_errback_that_finds_the_redelivered_runs_success_applies_the_success(
    processing_file: MakeFile, task_state: StoreState
) -> None:
    # B could not publish the success link (broker gone): Celery recorded a wire error and sent
    # the errback, while the redelivered message ran again and stored SUCCESS before the
    # errback was read. The good file must not fail.
    from celery import current_app

    task_id = task_state("STARTED", {})
    file = processing_file(task_id=task_id)
    current_app.backend.store_result(task_id, a_result(file).model_dump(mode="json"), "SUCCESS")

    applied = file_processing_failed(task_id, file_id=file.pk, task_id=task_id)

    file.refresh_from_db()
    assert applied == "succeeded"
    assert file.status == File.Status.SUCCESS


@pytest.mark.django_db
def test_an_errback_with_no_failure_stored_leaves_the_file_to_the_sweeper(
    processing_file: MakeFile, task_state: StoreState
) -> None:
    task_id = task_state("STARTED", {"pid": 1})
    file = processing_file(task_id=task_id)

    applied = file_processing_failed(task_id, file_id=file.pk, task_id=task_id)

    file.refresh_from_db()
    assert applied == "waiting"
    assert file.status == File.Status.PROCESSING


@pytest.mark.django_db
def test_an_errback_applies_the_stored_contract_failure(
    processing_file: MakeFile, task_state: StoreState
) -> None:
    from celery import current_app

    task_id = task_state("STARTED", {})
    current_app.backend.mark_as_failure(task_id, InconsistentRows("Line 3 is short."))
    file = processing_file(task_id=task_id)

    applied = file_processing_failed(task_id, file_id=file.pk, task_id=task_id)

    file.refresh_from_db()
    assert applied == "failed"
    assert (file.error_code, file.error_message) == (
        ErrorCode.INCONSISTENT_ROWS,
        "Line 3 is short.",
    )
