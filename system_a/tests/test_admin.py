from collections.abc import Callable
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from pytest_django import DjangoCaptureOnCommitCallbacks

from files.models import File

from .conftest import fail, succeed

MakeFile = Callable[..., File]
CHANGELIST = reverse("admin:files_file_changelist")


@pytest.fixture
def admin(client: Client, db: None) -> Client:
    client.force_login(User.objects.create_superuser("root", password="x" * 20))
    return client


def test_files_are_filterable_by_status_and_searchable(
    admin: Client, processing_file: MakeFile
) -> None:
    failed = fail(processing_file(task_id="t1"))
    File.objects.filter(pk=failed.pk).update(original_name="broken.csv")
    done = succeed(processing_file(task_id="t2"))
    File.objects.filter(pk=done.pk).update(original_name="fine.csv")

    by_status = admin.get(CHANGELIST, {"status__exact": "FAILED"}).content.decode()
    by_search = admin.get(CHANGELIST, {"q": "fine"}).content.decode()

    assert "broken.csv" in by_status
    assert "fine.csv" not in by_status
    assert "fine.csv" in by_search
    assert "broken.csv" not in by_search


def test_the_retry_action_retries_failed_files_and_leaves_the_others(
    admin: Client,
    processing_file: MakeFile,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    failed = fail(processing_file(task_id="t1"))
    done = succeed(processing_file(task_id="t2"))

    with django_capture_on_commit_callbacks() as callbacks:
        response = admin.post(
            CHANGELIST,
            {"action": "retry", "_selected_action": [failed.pk, done.pk]},
            follow=True,
        )

    assert b"1 file(s) sent again" in response.content
    assert File.objects.get(pk=failed.pk).status == File.Status.PENDING
    assert File.objects.get(pk=done.pk).status == File.Status.SUCCESS
    assert len(callbacks) == 1


def test_deleting_files_in_the_admin_removes_their_uploads_and_outputs(
    admin: Client,
    processing_file: MakeFile,
    storage_root: Path,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    (storage_root / "outputs").mkdir()
    (storage_root / "outputs" / "x.csv").write_bytes(b"id\n1\n")
    done = succeed(processing_file(task_id="t1"), output_key="outputs/x.csv")
    running = processing_file(task_id="t2")  # the admin may delete a file in any state
    one = fail(processing_file(task_id="t3"))

    with django_capture_on_commit_callbacks(execute=True):
        admin.post(
            CHANGELIST,
            {"action": "delete_selected", "_selected_action": [done.pk, running.pk], "post": "yes"},
        )
        admin.post(reverse("admin:files_file_delete", args=[one.pk]), {"post": "yes"})

    assert not File.objects.exists()
    assert list(storage_root.rglob("*.*")) == []
