from collections.abc import Callable
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from files import services
from files.models import File
from shared_schema.errors import ErrorCode

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
