import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from celery import current_app
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from pytest_django import Settings as SettingsWrapper
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

# Re-exported so it overrides pytest-django's fixture of the same name: a -p plugin registers
# before pytest-django's entry point, so its definition alone loses, and every run would share
# one test database name.
from config.testing import django_db_modify_db_settings  # noqa: F401
from files.models import File
from shared_schema.errors import ErrorCode
from shared_schema.payloads import ProcessingResult

GOOD_CSV = b"id,name\n1,ada\n2,grace\n"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """In the unit tier (config/settings_unit.py) a test marked ``services`` is skipped, with
    the reason shown: it needs what only the real services have."""
    from django.conf import settings

    if not getattr(settings, "UNIT_TIER", False):
        return
    skip = pytest.mark.skip(reason="needs the real services: make test-services")
    for item in items:
        if item.get_closest_marker("services"):
            item.add_marker(skip)


PASSWORD = "correct-horse-battery"


@pytest.fixture
def storage_root(tmp_path: Path, settings: SettingsWrapper) -> Path:
    root = tmp_path / "storage"
    root.mkdir()
    settings.STORAGE_ROOT = root
    return root


@pytest.fixture
def user(db: None) -> User:
    return User.objects.create_user("ada", password=PASSWORD)


@pytest.fixture
def other_user(db: None) -> User:
    return User.objects.create_user("grace", password=PASSWORD)


@pytest.fixture
def logged_in(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


@pytest.fixture
def api(user: User) -> APIClient:
    """An API client authenticated with the user's token, as curl would be."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.fixture
def processing_file(db: None, storage_root: Path, user: User) -> Callable[..., File]:
    """A file as it stands once dispatched: PROCESSING for task ``task_id``, owned by ``user``."""

    def make(
        *, task_id: str = "task-1", attempts: int = 1, owner: User | None = user, **fields: Any
    ) -> File:
        key = f"uploads/{task_id}.csv"
        (storage_root / "uploads").mkdir(exist_ok=True)
        (storage_root / key).write_bytes(GOOD_CSV)
        return File.objects.create(
            owner=owner,
            original_name="a.csv",
            storage_key=key,
            size_bytes=len(GOOD_CSV),
            status=File.Status.PROCESSING,
            task_id=task_id,
            attempts=attempts,
            **fields,
        )

    return make


@pytest.fixture
def task_state() -> Iterator[Callable[[str, dict[str, Any]], str]]:
    """Store a state for a fresh task id in the real result backend, as B's update_state does;
    every state stored is forgotten afterwards."""
    stored: list[str] = []

    def store(state: str, meta: dict[str, Any]) -> str:
        task_id = f"test-{uuid.uuid4()}"
        current_app.backend.store_result(task_id, meta, state)
        stored.append(task_id)
        return task_id

    yield store
    for task_id in stored:
        current_app.backend.forget(task_id)


def csv_upload(content: bytes = GOOD_CSV, name: str = "people.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="text/csv")


def a_result(file: File, *, output_key: str | None = None) -> ProcessingResult:
    """B's summary of GOOD_CSV stored as ``file``, as B's task returns it."""
    return ProcessingResult.model_validate(
        {
            "storage_key": file.storage_key,
            "sha256": "0" * 64,
            "size_bytes": file.size_bytes,
            "format": "csv",
            "rows": 2,
            "columns": [
                {"name": "id", "type": "integer", "min": 1, "max": 2},
                {"name": "name", "type": "string"},
            ],
            "output_key": output_key,
            "sample_rows": [["1", "ada"], ["2", "grace"]],
            "encoding": "utf-8",
            "delimiter": ",",
            "output_format": "csv",
            "started_at": "2026-12-01T10:00:00Z",
            "finished_at": "2026-12-01T10:00:02Z",
        }
    )


def succeed(file: File, *, output: bytes | None = None) -> File:
    """Apply B's success callback to ``file`` (PROCESSING) with a typed summary; with
    ``output``, B wrote it as the normalized output, where B writes the file's output."""
    from django.conf import settings

    from files import services
    from shared_schema.keys import output_key_of
    from shared_schema.storage import store_open

    output_key = None
    if output is not None:
        output_key = output_key_of(file.storage_key)
        with store_open(settings.STORAGE_ROOT).write_atomic(output_key) as out:
            out.write(output)
    result = a_result(file, output_key=output_key)
    assert services.file_mark_succeeded(
        file_id=file.pk, task_id=file.task_id, result=result
    ).applied
    file.refresh_from_db()
    return file


def fail(file: File, *, message: str = "Line 9 is short.", code: ErrorCode | None = None) -> File:
    """Apply B's error callback to ``file`` (PROCESSING) with ``code`` (INCONSISTENT_ROWS, one
    of the file's own errors, unless told)."""
    from files import services

    assert services.file_mark_failed(
        file_id=file.pk,
        task_id=file.task_id,
        code=code or ErrorCode.INCONSISTENT_ROWS,
        message=message,
    ).applied
    file.refresh_from_db()
    return file
