from collections.abc import Callable
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils.html import escape
from pytest_django import DjangoCaptureOnCommitCallbacks
from pytest_django import Settings as SettingsWrapper

from files import services
from files.models import File
from files.uploads import MULTIPART_OVERHEAD_BYTES
from shared_schema.errors import ERROR_HINTS, ErrorCode
from shared_schema.keys import output_key_of
from shared_schema.payloads import (
    PROGRESS_STATE,
    ColumnSummary,
    ColumnType,
    FileFormat,
    ProcessingResult,
)

from .conftest import GOOD_CSV, PASSWORD, csv_upload, fail, succeed

MakeFile = Callable[..., File]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", reverse("files:list")),
        ("get", reverse("files:rows")),
        ("post", reverse("files:retry", args=[1])),
        ("get", reverse("files:download", args=[1])),
    ],
)
def test_every_page_sends_an_anonymous_visitor_to_log_in(
    client: Client, method: str, url: str
) -> None:
    response = getattr(client, method)(url)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_a_user_logs_in_sees_their_page_and_logs_out(client: Client, user: User) -> None:
    login = client.post(reverse("login"), {"username": "ada", "password": PASSWORD}, follow=True)
    assert b"Your files" in login.content
    assert b"Signed in as <strong>ada</strong>" in login.content

    logout = client.post(reverse("logout"), follow=True)

    assert b"Log in" in logout.content
    assert client.get(reverse("files:list")).status_code == 302


def test_a_wrong_password_is_refused_on_the_login_page(client: Client, user: User) -> None:
    response = client.post(reverse("login"), {"username": "ada", "password": "nope"})

    assert response.status_code == 200
    assert b"enter a correct username and password" in response.content


def test_the_upload_page_stores_the_file_for_its_owner_and_lists_it(
    logged_in: Client, user: User, storage_root: Path
) -> None:
    response = logged_in.post(reverse("files:list"), {"file": csv_upload()}, follow=True)

    assert response.status_code == 200
    file = File.objects.get()
    assert file.owner == user
    assert (storage_root / file.storage_key).read_bytes() == GOOD_CSV
    assert b"people.csv" in response.content


def test_an_upload_without_a_file_shows_the_form_error(logged_in: Client) -> None:
    response = logged_in.post(reverse("files:list"), {})

    assert response.status_code == 200
    assert b"This field is required" in response.content
    assert not File.objects.exists()


def test_an_upload_over_the_limit_is_refused_and_nothing_is_stored(
    logged_in: Client, storage_root: Path, settings: SettingsWrapper
) -> None:
    settings.MAX_UPLOAD_BYTES = 5

    response = logged_in.post(reverse("files:list"), {"file": csv_upload()})

    assert b"the limit is 5 bytes" in response.content
    assert not File.objects.exists()
    assert not any(storage_root.rglob("*.*"))


def test_a_body_declared_over_the_limit_is_refused_before_it_is_read(
    logged_in: Client, storage_root: Path, settings: SettingsWrapper
) -> None:
    settings.MAX_UPLOAD_BYTES = 1000
    big = csv_upload(b"a\n" + b"1\n" * (MULTIPART_OVERHEAD_BYTES + 1000))

    response = logged_in.post(reverse("files:list"), {"file": big})

    assert response.status_code == 413
    assert b"too large" in response.content
    assert not File.objects.exists()


def test_a_user_sees_only_their_own_files_on_the_page_and_in_its_updates(
    logged_in: Client, processing_file: MakeFile, other_user: User
) -> None:
    mine = processing_file(task_id="mine")
    File.objects.filter(pk=mine.pk).update(original_name="mine.csv")
    theirs = processing_file(task_id="theirs", owner=other_user)
    File.objects.filter(pk=theirs.pk).update(original_name="theirs.csv")

    for url in (reverse("files:list"), reverse("files:rows")):
        page = logged_in.get(url).content.decode()
        assert "mine.csv" in page
        assert "theirs.csv" not in page


def test_another_users_file_cannot_be_retried_or_downloaded(
    logged_in: Client, processing_file: MakeFile, other_user: User, storage_root: Path
) -> None:
    theirs = fail(processing_file(owner=other_user))
    done = succeed(processing_file(task_id="t2", owner=other_user), output=b"id\n")

    assert logged_in.post(reverse("files:retry", args=[theirs.pk])).status_code == 404
    assert logged_in.get(reverse("files:download", args=[done.pk])).status_code == 404
    assert File.objects.get(pk=theirs.pk).status == File.Status.FAILED


def test_a_processing_file_shows_the_progress_system_b_reports(
    logged_in: Client, processing_file: MakeFile, task_state: Callable[..., str]
) -> None:
    task_id = task_state(PROGRESS_STATE, {"bytes_read": 3, "bytes_total": 4, "rows": 1500})
    processing_file(task_id=task_id)

    rows = logged_in.get(reverse("files:rows")).content.decode()

    assert 'data-status="PROCESSING"' in rows
    assert "running, 75% (1,500 rows)" in rows
    assert "width: 75%" in rows


def test_a_processed_file_shows_its_summary_with_column_types(
    logged_in: Client, processing_file: MakeFile
) -> None:
    succeed(processing_file())

    rows = logged_in.get(reverse("files:rows")).content.decode()

    assert "2 rows · 2 columns · CSV" in rows
    assert '<span class="col-name">id</span><span class="col-type">integer</span>' in rows
    assert "is processed: 2 rows, 2 columns." in rows  # the notification's text


def test_a_failed_file_shows_its_message_the_hint_and_a_retry_button(
    logged_in: Client, processing_file: MakeFile
) -> None:
    file = fail(processing_file())

    page = logged_in.get(reverse("files:list")).content.decode()

    assert "Line 9 is short." in page
    assert "as many fields as the header" in page
    assert reverse("files:retry", args=[file.pk]) in page
    assert reverse("api:file-retry", args=[file.pk]) in page


def test_retrying_a_failed_file_starts_a_new_attempt(
    logged_in: Client,
    processing_file: MakeFile,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    file = fail(processing_file())

    with django_capture_on_commit_callbacks() as callbacks:
        response = logged_in.post(reverse("files:retry", args=[file.pk]), follow=True)

    assert b"is being processed again" in response.content
    assert File.objects.get(pk=file.pk).status == File.Status.PENDING
    assert len(callbacks) == 1


def test_retrying_a_file_that_has_not_failed_is_refused(
    logged_in: Client, processing_file: MakeFile
) -> None:
    file = processing_file()

    response = logged_in.post(reverse("files:retry", args=[file.pk]), follow=True)

    assert b"only failed files can be retried" in response.content
    assert File.objects.get(pk=file.pk).status == File.Status.PROCESSING


@pytest.mark.parametrize("code", list(ErrorCode), ids=lambda code: code.value)
def test_every_error_code_shows_its_message_and_its_hint_on_the_page(
    logged_in: Client, processing_file: MakeFile, code: ErrorCode
) -> None:
    file = processing_file()
    message = f"Line 7: something specific went wrong ({code.value})."
    services.file_mark_failed(file_id=file.pk, task_id="task-1", code=code, message=message)

    page = logged_in.get(reverse("files:list")).content.decode()

    assert message in page
    assert escape(ERROR_HINTS[code]) in page


def test_a_processed_file_shows_rows_and_each_columns_type(
    logged_in: Client, processing_file: MakeFile
) -> None:
    file = processing_file()
    result = ProcessingResult(
        storage_key=file.storage_key,
        sha256="a" * 64,
        size_bytes=10,
        format=FileFormat.TSV,
        rows=2,
        columns=(
            ColumnSummary(name="id", type=ColumnType.INTEGER, min=1, max=2),
            ColumnSummary(name="joined", type=ColumnType.DATE, nulls=1),
        ),
        output_key=output_key_of(file.storage_key),
    )
    services.file_mark_succeeded(file_id=file.pk, task_id="task-1", result=result)

    page = logged_in.get(reverse("files:list")).content.decode()

    assert "2 rows · 2 columns · TSV" in page
    assert '<span class="col-name">id</span><span class="col-type">integer</span>' in page
    assert '<span class="col-name">joined</span><span class="col-type">date, 1 empty</span>' in page
    assert reverse("files:download", args=[file.pk]) in page


def test_the_normalized_output_downloads_named_after_the_upload(
    logged_in: Client, processing_file: MakeFile, storage_root: Path
) -> None:
    file = succeed(processing_file(), output=b"id,name\n1,ada\n")

    page = logged_in.get(reverse("files:rows")).content.decode()
    response = logged_in.get(reverse("files:download", args=[file.pk]))

    assert reverse("files:download", args=[file.pk]) in page
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"id,name\n1,ada\n"  # type: ignore[attr-defined]
    assert response["Content-Disposition"] == 'attachment; filename="a.normalized.csv"'


def test_a_file_without_output_has_no_download(
    logged_in: Client, processing_file: MakeFile
) -> None:
    file = succeed(processing_file())

    assert "Download" not in logged_in.get(reverse("files:rows")).content.decode()
    assert logged_in.get(reverse("files:download", args=[file.pk])).status_code == 404
