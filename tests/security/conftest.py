"""Fixtures for the security tests: users, their files, and the real result backend.

These tests run against A's settings and test database (tests/conftest.py) and the local
Redis; anything they store there (task states, ACL users) is removed afterwards."""

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from celery import current_app
from django.contrib.auth.models import User
from django.test import Client
from pytest_django import Settings as SettingsWrapper

from files.models import File

GOOD_CSV = b"id,name\n1,ada\n2,grace\n"
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
def processing_file(db: None, storage_root: Path, user: User) -> Callable[..., File]:
    """A file as it stands once dispatched: PROCESSING for a fresh task id, its upload stored."""

    def make(*, owner: User = user, content: bytes = GOOD_CSV) -> File:
        task_id = f"test-{uuid.uuid4()}"
        key = f"uploads/{uuid.uuid4().hex}.csv"
        (storage_root / "uploads").mkdir(exist_ok=True)
        (storage_root / key).write_bytes(content)
        return File.objects.create(
            owner=owner,
            original_name="a.csv",
            storage_key=key,
            size_bytes=len(content),
            status=File.Status.PROCESSING,
            task_id=task_id,
            attempts=1,
        )

    return make


@pytest.fixture
def stored_meta() -> Iterator[Callable[[str, dict[str, Any] | bytes], None]]:
    """Write a raw task meta for a task id into the real result backend, as anyone with write
    access to Redis could; every key written is deleted afterwards."""
    written: list[str] = []
    backend = current_app.backend

    def store(task_id: str, meta: dict[str, Any] | bytes) -> None:
        key = backend.get_key_for_task(task_id)
        backend.set(key, meta if isinstance(meta, bytes) else backend.encode(meta))
        written.append(task_id)

    yield store
    for task_id in written:
        backend.forget(task_id)
