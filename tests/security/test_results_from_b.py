"""A trusts nothing B's result names that it can check against its own records.

The attack: a success callback (or a SUCCESS the sweeper reads from the result backend) whose
``output_key`` points at another user's upload. Before, ``GET /api/files/<id>/download/``
served that user's data."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from files import services, sweeper, tasks
from files.models import File
from files.selectors import Outcome
from shared_schema.errors import ErrorCode
from shared_schema.keys import output_key_of

MakeFile = Callable[..., File]
SECRET = b"id,secret\n1,theirs\n"


def b_result(file: File, **changes: Any) -> dict[str, Any]:
    """What B returns for ``file``, as JSON, with ``changes`` applied."""
    return {
        "storage_key": file.storage_key,
        "sha256": "0" * 64,
        "size_bytes": file.size_bytes,
        "format": "csv",
        "rows": 2,
        "columns": [{"name": "id"}, {"name": "name"}],
        "output_key": output_key_of(file.storage_key),
        **changes,
    }


def download(user: User, file: File) -> int:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    status: int = api.get(reverse("api:file-download", args=[file.pk])).status_code
    return status


def assert_refused(file: File) -> None:
    file.refresh_from_db()
    assert file.status == File.Status.FAILED
    assert file.error_code == ErrorCode.INTERNAL_ERROR.value
    assert file.result is None


def test_a_success_callback_naming_another_users_upload_as_output_is_refused_and_logged(
    processing_file: MakeFile, user: User, other_user: User, caplog: pytest.LogCaptureFixture
) -> None:
    theirs = processing_file(owner=other_user, content=SECRET)
    mine = processing_file()

    tasks.file_processing_succeeded(
        b_result(mine, output_key=theirs.storage_key), file_id=mine.pk, task_id=mine.task_id
    )

    assert_refused(mine)
    assert download(user, mine) == 404
    assert any(
        record.levelname == "ERROR" and "refused System B's result" in record.getMessage()
        for record in caplog.records
    )


def test_a_success_callback_for_another_files_upload_is_refused(
    processing_file: MakeFile, other_user: User
) -> None:
    theirs = processing_file(owner=other_user, content=SECRET)
    mine = processing_file()

    tasks.file_processing_succeeded(b_result(theirs), file_id=mine.pk, task_id=mine.task_id)

    assert_refused(mine)


def test_the_sweeper_refuses_a_stored_success_that_names_another_users_upload(
    processing_file: MakeFile, user: User, other_user: User
) -> None:
    theirs = processing_file(owner=other_user, content=SECRET)
    mine = processing_file()
    File.objects.filter(pk=mine.pk).update(dispatched_at=timezone.now() - timedelta(hours=1))
    forged = b_result(mine, output_key=theirs.storage_key)

    sweeper.file_sweep(
        now=timezone.now(),
        policy=sweeper.SweepPolicy.from_settings(),
        outcome_of=lambda *, task_id: Outcome(state="SUCCESS", result=forged),
    )

    assert_refused(mine)
    assert download(user, mine) == 404


def test_an_output_key_already_stored_is_not_served_unless_it_is_the_files_own(
    processing_file: MakeFile, logged_in: Client, other_user: User
) -> None:
    # A row written before the check existed, or by hand: the download still derives the
    # output's place from the file's own storage key.
    theirs = processing_file(owner=other_user, content=SECRET)
    mine = processing_file()
    File.objects.filter(pk=mine.pk).update(
        status=File.Status.SUCCESS, result=b_result(mine, output_key=theirs.storage_key)
    )

    assert logged_in.get(reverse("files:download", args=[mine.pk])).status_code == 404


def test_the_files_own_output_is_still_served(
    processing_file: MakeFile, logged_in: Client, storage_root: Any
) -> None:
    mine = processing_file()
    output = storage_root / output_key_of(mine.storage_key)
    output.parent.mkdir(parents=True)
    output.write_bytes(b"id,name\r\n1,ada\r\n")

    transition = services.file_mark_succeeded(
        file_id=mine.pk,
        task_id=mine.task_id,
        result=services.ProcessingResult.model_validate(b_result(mine)),
    )
    response = logged_in.get(reverse("files:download", args=[mine.pk]))

    assert transition.applied
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"id,name\r\n1,ada\r\n"  # type: ignore[attr-defined]
