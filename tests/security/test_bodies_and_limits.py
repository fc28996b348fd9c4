"""Bodies are capped before they are read, except on the upload routes; uploads are limited
per user.

The attack: a 30 MB multipart part to /api/token/ or /login/ was written to a temporary file
before the 400/403 answer."""

from collections.abc import Callable
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from pytest_django import Settings as SettingsWrapper
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from files.models import File

GOOD_CSV = b"id,name\n1,ada\n2,grace\n"

MakeFile = Callable[..., File]
BIG = 30 * 1024 * 1024
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def spool_dir(tmp_path: Path, settings: SettingsWrapper) -> Path:
    """Where Django would spool an uploaded part: it must stay empty."""
    spool = tmp_path / "spool"
    spool.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(spool)
    return spool


def big_part() -> SimpleUploadedFile:
    return SimpleUploadedFile("big.bin", b"\0" * BIG, content_type="application/octet-stream")


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/token/", "/login/", "/admin/login/", "/files/1/retry/"])
def test_a_large_body_to_a_route_that_takes_no_upload_is_refused_unread(
    path: str, spool_dir: Path
) -> None:
    response = Client().post(path, {"username": "ada", "password": "x", "file": big_part()})

    assert response.status_code == 413
    assert list(spool_dir.iterdir()) == []


@pytest.mark.django_db
def test_the_token_view_takes_json_or_a_form_but_no_multipart() -> None:
    api = APIClient()
    credentials = {"username": "nobody", "password": "x"}

    assert api.post("/api/token/", credentials, format="multipart").status_code == 415
    assert api.post("/api/token/", credentials, format="json").status_code == 400
    form = Client().post("/api/token/", "username=nobody&password=x", content_type=FORM)
    assert form.status_code == 400


def token_client(user: User) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return api


def csv_upload() -> SimpleUploadedFile:
    return SimpleUploadedFile("people.csv", GOOD_CSV, content_type="text/csv")


def test_a_user_with_too_many_files_in_flight_is_told_to_wait_with_429(
    user: User,
    logged_in: Client,
    processing_file: MakeFile,
    settings: SettingsWrapper,
    spool_dir: Path,
) -> None:
    settings.USER_MAX_IN_FLIGHT = 2
    processing_file()
    processing_file()

    api = token_client(user).post(reverse("api:file-list"), {"file": csv_upload()})
    page = logged_in.post(reverse("files:list"), {"file": csv_upload()})

    assert api.status_code == 429
    assert api.json()["code"] == "upload_limit"
    assert "being processed" in api.json()["detail"]
    assert page.status_code == 429
    assert "being processed" in page.content.decode()
    assert File.objects.filter(owner=user).count() == 2


def test_a_user_over_their_storage_is_refused_with_413(
    user: User, processing_file: MakeFile, settings: SettingsWrapper, other_user: User
) -> None:
    file = processing_file()
    settings.USER_MAX_STORED_BYTES = file.size_bytes + 10

    response = token_client(user).post(reverse("api:file-list"), {"file": csv_upload()})
    theirs = token_client(other_user).post(reverse("api:file-list"), {"file": csv_upload()})

    assert response.status_code == 413
    assert response.json()["code"] == "upload_limit"
    assert theirs.status_code == 201  # the limit is per user
