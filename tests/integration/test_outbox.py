"""The outbox: an attempt committed without its message is sent by the relay, not lost."""

import hashlib
import uuid
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from files import services
from files.models import File
from harness.files import finished
from harness.processes import ManagedProcess

pytestmark = pytest.mark.integration

GOOD_CSV = b"id,name\n1,ada\n2,grace\n"


def claimed_but_never_sent(name: str) -> File:
    """A file as a process leaves it that died between committing the claim and publishing."""
    key = f"uploads/outbox-{uuid.uuid4().hex}.csv"
    (settings.STORAGE_ROOT / "uploads").mkdir(parents=True, exist_ok=True)
    (settings.STORAGE_ROOT / key).write_bytes(GOOD_CSV)
    return File.objects.create(
        original_name=name,
        storage_key=key,
        size_bytes=len(GOOD_CSV),
        status=File.Status.PROCESSING,
        task_id=str(uuid.uuid4()),
        attempts=1,
        dispatched_at=timezone.now() - timedelta(minutes=1),
    )


def test_an_attempt_whose_sender_died_is_sent_by_the_relay_under_its_own_task_id(
    workers: tuple[ManagedProcess, ManagedProcess],
) -> None:
    file = claimed_but_never_sent("orphan.csv")

    report = services.file_relay(now=timezone.now(), unsent_after=timedelta(seconds=10))

    assert file.pk in report.resent
    file = finished(file, workers)
    assert file.status == File.Status.SUCCESS, file.error_message
    assert file.attempts == 1
    assert file.sent_at is not None
    assert file.result is not None
    assert file.result["sha256"] == hashlib.sha256(GOOD_CSV).hexdigest()


def test_the_relay_leaves_a_recent_claim_to_its_own_sender(
    workers: tuple[ManagedProcess, ManagedProcess],
) -> None:
    file = claimed_but_never_sent("recent.csv")
    File.objects.filter(pk=file.pk).update(dispatched_at=timezone.now())

    report = services.file_relay(now=timezone.now(), unsent_after=timedelta(seconds=10))

    assert file.pk not in report.resent
    file.refresh_from_db()
    assert file.sent_at is None


def test_a_dispatch_records_when_the_broker_took_the_message(
    workers: tuple[ManagedProcess, ManagedProcess],
) -> None:
    file = claimed_but_never_sent("pending.csv")
    File.objects.filter(pk=file.pk).update(status=File.Status.PENDING, task_id="", attempts=0)

    assert services.file_dispatch(file_id=file.pk).applied

    file.refresh_from_db()
    assert file.sent_at is not None
    assert file.sent_at >= file.dispatched_at
    assert finished(file, workers).status == File.Status.SUCCESS
