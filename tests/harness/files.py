"""System A's side of an integration test: upload a file, wait until it is finished.

Imports System A (run from A's environment only).
"""

from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile

from files import services
from files.models import File
from harness.processes import ManagedProcess
from harness.waiting import wait_for

FINISH_TIMEOUT_S = 60


def upload(name: str, content: bytes, *, owner: User | None = None) -> File:
    return services.file_create(upload=SimpleUploadedFile(name, content), owner=owner)


def finished(file: File, workers: tuple[ManagedProcess, ManagedProcess]) -> File:
    """Wait until the file leaves PENDING/PROCESSING; say where it stands if it never does."""
    done = (File.Status.SUCCESS, File.Status.FAILED)

    def probe() -> File | None:
        file.refresh_from_db()
        return file if file.status in done else None

    def describe() -> str:
        return (
            f"file is {file.status}\n--- A ---\n{workers[0].tail()}\n--- B ---\n{workers[1].tail()}"
        )

    return wait_for(
        probe, timeout=FINISH_TIMEOUT_S, what=f"file {file.pk} to finish", describe=describe
    )
