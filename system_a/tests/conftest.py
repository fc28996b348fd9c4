from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from pytest_django import Settings as SettingsWrapper

from config.testing import django_db_modify_db_settings as django_db_modify_db_settings
from files.models import File

GOOD_CSV = b"id,name\n1,ada\n2,grace\n"


@pytest.fixture
def storage_root(tmp_path: Path, settings: SettingsWrapper) -> Path:
    root = tmp_path / "storage"
    root.mkdir()
    settings.STORAGE_ROOT = root
    return root


@pytest.fixture
def processing_file(db: None, storage_root: Path) -> Callable[..., File]:
    """A file as it stands once dispatched: PROCESSING for task ``task_id``."""

    def make(*, task_id: str = "task-1", attempts: int = 1) -> File:
        key = f"uploads/{task_id}.csv"
        (storage_root / "uploads").mkdir(exist_ok=True)
        (storage_root / key).write_bytes(GOOD_CSV)
        return File.objects.create(
            original_name="a.csv",
            storage_key=key,
            size_bytes=len(GOOD_CSV),
            status=File.Status.PROCESSING,
            task_id=task_id,
            attempts=attempts,
        )

    return make


def csv_upload(content: bytes = GOOD_CSV, name: str = "people.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="text/csv")
