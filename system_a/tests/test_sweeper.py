from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from django.utils import timezone
from kombu.exceptions import OperationalError

from config.testing import celery_broker
from files.models import File
from files.selectors import Outcome
from files.sweeper import SweepPolicy, file_sweep
from shared_schema.errors import ErrorCode, FileMissing

from .test_services import a_result

MakeFile = Callable[..., File]

POLICY = SweepPolicy(
    pending_stale_after=timedelta(seconds=60),
    processing_stale_after=timedelta(minutes=5),
    deadline=timedelta(hours=1),
    retry_at_deadline=False,
    max_attempts=3,
)
UNREACHABLE_BROKER = "amqp://guest:guest@127.0.0.1:1//"


def sent_ago(file: File, delta: timedelta) -> File:
    File.objects.filter(pk=file.pk).update(dispatched_at=timezone.now() - delta)
    file.refresh_from_db()
    return file


def outcome(state: str, result: object = None) -> Callable[..., Outcome]:
    def read(*, task_id: str) -> Outcome:
        return Outcome(state=state, result=result)

    return read


def later(minutes: float) -> datetime:
    return timezone.now() + timedelta(minutes=minutes)


@pytest.mark.django_db
def test_a_stored_success_whose_callback_was_lost_is_applied(processing_file: MakeFile) -> None:
    file = sent_ago(processing_file(), timedelta(minutes=10))
    result = a_result().model_dump(mode="json")

    report = file_sweep(now=timezone.now(), policy=POLICY, outcome_of=outcome("SUCCESS", result))

    file.refresh_from_db()
    assert report.succeeded == [file.pk]
    assert file.status == File.Status.SUCCESS
    assert file.result == result


@pytest.mark.django_db
def test_a_stored_failure_whose_errback_was_lost_fails_the_file_with_its_code(
    processing_file: MakeFile,
) -> None:
    file = sent_ago(processing_file(), timedelta(minutes=10))

    file_sweep(
        now=timezone.now(), policy=POLICY, outcome_of=outcome("FAILURE", FileMissing("gone"))
    )

    file.refresh_from_db()
    assert file.status == File.Status.FAILED
    assert file.error_code == ErrorCode.FILE_MISSING
    assert file.error_message == "gone"


@pytest.mark.django_db
def test_a_recent_file_is_left_alone_even_with_an_outcome(processing_file: MakeFile) -> None:
    file = sent_ago(processing_file(), timedelta(seconds=10))

    report = file_sweep(now=timezone.now(), policy=POLICY, outcome_of=outcome("SUCCESS", {}))

    file.refresh_from_db()
    assert file.status == File.Status.PROCESSING
    assert not any(report.counts().values())


@pytest.mark.django_db
def test_no_outcome_before_the_deadline_changes_nothing(processing_file: MakeFile) -> None:
    file = sent_ago(processing_file(), timedelta(minutes=30))

    file_sweep(now=timezone.now(), policy=POLICY, outcome_of=outcome("STARTED"))

    file.refresh_from_db()
    assert file.status == File.Status.PROCESSING


@pytest.mark.django_db
def test_no_outcome_past_the_deadline_fails_the_file_with_no_outcome(
    processing_file: MakeFile,
) -> None:
    file = sent_ago(processing_file(), timedelta(hours=2))

    report = file_sweep(now=timezone.now(), policy=POLICY, outcome_of=outcome("PENDING"))

    file.refresh_from_db()
    assert report.timed_out == [file.pk]
    assert file.status == File.Status.FAILED
    assert file.error_code == ErrorCode.NO_OUTCOME
    assert "3600 seconds" in file.error_message


@pytest.mark.django_db
def test_under_the_retry_policy_a_file_past_the_deadline_gets_a_new_attempt(
    processing_file: MakeFile,
) -> None:
    file = sent_ago(processing_file(task_id="old", attempts=1), timedelta(hours=2))
    policy = SweepPolicy(**{**vars(POLICY), "retry_at_deadline": True})

    with celery_broker(UNREACHABLE_BROKER):
        report = file_sweep(now=timezone.now(), policy=policy, outcome_of=outcome("PENDING"))

    file.refresh_from_db()
    assert report.retried == [file.pk]
    # The old attempt is abandoned; the new one could not be sent, so the file waits PENDING.
    assert file.status == File.Status.PENDING
    assert file.task_id == ""


@pytest.mark.django_db
def test_under_the_retry_policy_the_last_attempt_fails_instead(processing_file: MakeFile) -> None:
    file = sent_ago(processing_file(attempts=3), timedelta(hours=2))
    policy = SweepPolicy(**{**vars(POLICY), "retry_at_deadline": True})

    file_sweep(now=timezone.now(), policy=policy, outcome_of=outcome("PENDING"))

    file.refresh_from_db()
    assert file.status == File.Status.FAILED
    assert file.error_code == ErrorCode.NO_OUTCOME


@pytest.mark.django_db
def test_an_unreadable_result_backend_leaves_the_file_for_the_next_sweep(
    processing_file: MakeFile,
) -> None:
    file = sent_ago(processing_file(), timedelta(hours=2))

    def unreadable(*, task_id: str) -> Outcome:
        raise ConnectionError("redis is restarting")

    report = file_sweep(now=timezone.now(), policy=POLICY, outcome_of=unreadable)

    file.refresh_from_db()
    assert report.unreadable == [file.pk]
    assert file.status == File.Status.PROCESSING


@pytest.mark.django_db
def test_a_stale_pending_file_stays_pending_while_the_broker_is_down(
    processing_file: MakeFile,
) -> None:
    file = processing_file()
    File.objects.filter(pk=file.pk).update(status=File.Status.PENDING, task_id="", attempts=0)

    with celery_broker(UNREACHABLE_BROKER):
        report = file_sweep(now=later(5), policy=POLICY, outcome_of=outcome("PENDING"))

    file.refresh_from_db()
    assert report.sent == []
    assert file.status == File.Status.PENDING
    assert file.attempts == 0


@pytest.mark.django_db
def test_a_finished_file_is_never_touched(processing_file: MakeFile) -> None:
    file = sent_ago(processing_file(), timedelta(hours=2))
    File.objects.filter(pk=file.pk).update(status=File.Status.SUCCESS)

    report = file_sweep(now=later(600), policy=POLICY, outcome_of=outcome("FAILURE"))

    file.refresh_from_db()
    assert file.status == File.Status.SUCCESS
    assert not any(report.counts().values())


@pytest.mark.django_db
def test_a_stored_broker_error_is_not_applied_but_waits_for_the_deadline(
    processing_file: MakeFile,
) -> None:
    file = sent_ago(processing_file(), timedelta(minutes=10))
    lost_link = outcome("FAILURE", OperationalError("[Errno 111] Connection refused"))

    report = file_sweep(now=timezone.now(), policy=POLICY, outcome_of=lost_link)

    file.refresh_from_db()
    assert file.status == File.Status.PROCESSING
    assert not any(report.counts().values())


@pytest.mark.django_db
def test_what_the_sweeper_did_is_in_the_files_history_as_its_doing(
    processing_file: MakeFile,
) -> None:
    applied = sent_ago(processing_file(task_id="t1"), timedelta(minutes=10))
    timed_out = sent_ago(processing_file(task_id="t2"), timedelta(hours=2))
    result = a_result().model_dump(mode="json")

    def read(*, task_id: str) -> Outcome:
        return Outcome(state="SUCCESS", result=result) if task_id == "t1" else Outcome("PENDING")

    file_sweep(now=timezone.now(), policy=POLICY, outcome_of=read)

    [event] = applied.events.all()
    assert (event.kind, event.source, event.task_id) == ("succeeded", "sweeper", "t1")
    [event] = timed_out.events.all()
    assert (event.kind, event.source, event.to_status) == ("failed", "sweeper", "FAILED")
    assert event.detail.startswith("no_outcome: ")
