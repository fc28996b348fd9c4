from collections.abc import Callable
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from files import services
from files.models import File
from shared_schema.errors import ERROR_HINTS, ErrorCode
from shared_schema.payloads import ColumnSummary, ColumnType, FileFormat, ProcessingResult

from .conftest import csv_upload


@pytest.mark.django_db
def test_the_upload_page_stores_the_file_and_lists_it(client: Client, storage_root: Path) -> None:
    response = client.post(reverse("files:list"), {"file": csv_upload()}, follow=True)

    assert response.status_code == 200
    file = File.objects.get()
    assert (storage_root / file.storage_key).exists()
    assert b"people.csv" in response.content


@pytest.mark.django_db
def test_an_upload_without_a_file_shows_the_form_error(client: Client) -> None:
    response = client.post(reverse("files:list"), {})

    assert response.status_code == 200
    assert b"This field is required" in response.content
    assert not File.objects.exists()


def test_a_failed_file_shows_its_message_the_hint_and_a_retry_button(
    client: Client, processing_file: Callable[..., File]
) -> None:
    file = processing_file()
    services.file_mark_failed(
        file_id=file.pk,
        task_id="task-1",
        code=ErrorCode.INCONSISTENT_ROWS,
        message="Line 9 is short.",
    )

    page = client.get(reverse("files:list")).content.decode()

    assert "Line 9 is short." in page
    assert "as many fields as the header" in page
    assert reverse("files:retry", args=[file.pk]) in page


def test_retrying_a_file_that_has_not_failed_is_refused(
    client: Client, processing_file: Callable[..., File]
) -> None:
    file = processing_file()

    response = client.post(reverse("files:retry", args=[file.pk]), follow=True)

    assert b"only failed files can be retried" in response.content
    assert File.objects.get(pk=file.pk).status == File.Status.PROCESSING


@pytest.mark.parametrize("code", list(ErrorCode), ids=lambda code: code.value)
def test_every_error_code_shows_its_message_and_its_hint_on_the_page(
    client: Client, processing_file: Callable[..., File], code: ErrorCode
) -> None:
    file = processing_file()
    message = f"Line 7: something specific went wrong ({code.value})."
    services.file_mark_failed(file_id=file.pk, task_id="task-1", code=code, message=message)

    page = client.get(reverse("files:list")).content.decode()

    assert message in page
    assert escape(ERROR_HINTS[code]) in page


def test_a_processed_file_shows_rows_and_each_columns_type(
    client: Client, processing_file: Callable[..., File]
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

    page = client.get(reverse("files:list")).content.decode()

    assert "2 rows, 2 columns" in page
    assert 'id <span class="type">(integer)</span>' in page
    assert 'joined <span class="type">(date, 1 empty)</span>' in page
    assert "TSV; normalized copy at outputs/x.normalized.csv" in page
