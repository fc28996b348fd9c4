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
        ("post", reverse("files:delete", args=[1])),
        ("get", reverse("files:detail", args=[1])),
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
    (storage_root / "out.csv").write_text("id\n")
    done = succeed(processing_file(task_id="t2", owner=other_user), output_key="out.csv")

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


def test_a_file_failed_by_the_system_shows_its_message_the_hint_and_a_retry_button(
    logged_in: Client, processing_file: MakeFile
) -> None:
    file = fail(processing_file(), code=ErrorCode.PROCESSING_TIMEOUT, message="Line 9 is short.")

    page = logged_in.get(reverse("files:list")).content.decode()

    assert "Line 9 is short." in page
    assert "Processing took too long." in page
    assert reverse("files:retry", args=[file.pk]) in page
    assert reverse("api:file-retry", args=[file.pk]) in page
    assert "Upload a fixed file" not in page


def test_a_file_with_its_own_error_offers_a_fixed_upload_instead_of_retry(
    logged_in: Client,
    processing_file: MakeFile,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    file = fail(processing_file())

    page = logged_in.get(reverse("files:list")).content.decode()
    with django_capture_on_commit_callbacks() as callbacks:
        refused = logged_in.post(reverse("files:retry", args=[file.pk]), follow=True)

    assert "as many fields as the header" in page
    assert "Upload a fixed file" in page
    assert reverse("files:retry", args=[file.pk]) not in page
    assert b"will not help" in refused.content
    assert File.objects.get(pk=file.pk).status == File.Status.FAILED
    assert not callbacks


def test_retrying_a_failed_file_starts_a_new_attempt_shown_as_retrying(
    logged_in: Client,
    processing_file: MakeFile,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    file = fail(processing_file(), code=ErrorCode.STORAGE_UNAVAILABLE)

    with django_capture_on_commit_callbacks() as callbacks:
        response = logged_in.post(reverse("files:retry", args=[file.pk]), follow=True)

    assert b"is being processed again" in response.content
    assert b'<span class="badge retrying">Retrying</span>' in response.content
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
        output_key="outputs/x.normalized.csv",
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
    (storage_root / "outputs").mkdir()
    (storage_root / "outputs" / "x.csv").write_bytes(b"id,name\n1,ada\n")
    file = succeed(processing_file(), output_key="outputs/x.csv")

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


def test_numbers_are_written_one_way_with_correct_plurals(
    logged_in: Client, processing_file: MakeFile
) -> None:
    many, one = processing_file(task_id="t1"), processing_file(task_id="t2")
    for file, rows, columns in ((many, 1_500_000, 40), (one, 1, 1)):
        result = ProcessingResult(
            storage_key=file.storage_key,
            sha256="a" * 64,
            size_bytes=10,
            format=FileFormat.CSV,
            rows=rows,
            columns=tuple(ColumnSummary(name=f"c{n}") for n in range(columns)),
        )
        services.file_mark_succeeded(file_id=file.pk, task_id=file.task_id, result=result)

    page = logged_in.get(reverse("files:rows")).content.decode()

    assert "1,500,000 rows · 40 columns" in page
    assert "1 row · 1 column" in page
    assert "is processed: 1,500,000 rows, 40 columns." in page
    assert "+32 more" in page
    assert page.count('class="col-name"') == 8 + 1


def test_the_list_is_searched_filtered_and_paged(
    logged_in: Client, processing_file: MakeFile
) -> None:
    for n in range(25):
        file = processing_file(task_id=f"t{n}")
        File.objects.filter(pk=file.pk).update(original_name=f"f{n:02}.csv")
    fail(File.objects.get(original_name="f03.csv"))

    first = logged_in.get(reverse("files:list")).content.decode()
    second = logged_in.get(reverse("files:list"), {"page": "2"}).content.decode()
    found = logged_in.get(reverse("files:rows"), {"q": "F1"}).content.decode()
    failed = logged_in.get(reverse("files:rows"), {"status": "FAILED"}).content.decode()

    assert "f24.csv" in first
    assert "f04.csv" not in first
    assert "Page 1 of 2 · 25 files" in first
    assert "f04.csv" in second
    assert found.count("data-file-id=") == 10
    assert failed.count("data-file-id=") == 1
    assert "f03.csv" in failed


def test_the_file_page_shows_the_whole_summary_attempts_and_history(
    logged_in: Client, processing_file: MakeFile
) -> None:
    file = succeed(processing_file())
    services.file_mark_failed(
        file_id=file.pk, task_id="old-task", code=ErrorCode.NO_OUTCOME, message="late"
    )

    page = logged_in.get(reverse("files:detail", args=[file.pk])).content.decode()

    for text in ("utf-8", "<code>,</code>", "0" * 64, "grace", "First rows", "Attempts"):
        assert text in page, text
    assert "Late or duplicate outcome ignored" in page
    assert "by callback" in page


def test_deleting_a_finished_file_on_the_page_removes_it_and_its_bytes(
    logged_in: Client,
    processing_file: MakeFile,
    storage_root: Path,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    file = fail(processing_file())
    running = processing_file(task_id="t2")

    with django_capture_on_commit_callbacks(execute=True):
        done = logged_in.post(reverse("files:delete", args=[file.pk]), follow=True)
        refused = logged_in.post(reverse("files:delete", args=[running.pk]), follow=True)

    assert b"deleted" in done.content
    assert b"still being processed" in refused.content
    assert list(File.objects.values_list("pk", flat=True)) == [running.pk]
    assert not (storage_root / file.storage_key).exists()
