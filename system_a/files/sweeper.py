"""Nothing lost, nothing stuck: the periodic reconciliation of files that stopped moving.

* PENDING too long: the send after commit failed (broker down) or never ran. Send it.
* PROCESSING too long: ask the result backend. An outcome is there but its callback never
  arrived (A's queue lost it, the errback could not be published): apply it. Nothing there past
  the deadline (the message was dead-lettered, the task name was unknown, the queue was
  deleted): FAILED with NO_OUTCOME, or a new attempt under the ``retry`` policy.

Every change goes through the guarded services, so a sweep racing a callback, or two sweepers
racing each other, apply each transition at most once. No Celery here: the result backend is
read through ``outcome_of`` (``selectors.attempt_outcome`` by default).
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from pydantic import ValidationError

from files import services
from files.models import File, FileEvent
from files.outcomes import failure_describe, failure_is_wire_error
from files.selectors import Outcome, attempt_outcome
from shared_schema.errors import ERROR_HINTS, ErrorCode
from shared_schema.payloads import ProcessingResult

logger = logging.getLogger(__name__)

NO_OUTCOME_MESSAGE = "Processing did not report back within {seconds} seconds."


@dataclass(frozen=True, kw_only=True)
class SweepPolicy:
    pending_stale_after: timedelta
    processing_stale_after: timedelta
    deadline: timedelta
    retry_at_deadline: bool
    max_attempts: int
    batch: int = 500
    """At most this many files of each kind per sweep; the next sweep takes the rest."""

    @classmethod
    def from_settings(cls) -> "SweepPolicy":
        return cls(
            pending_stale_after=timedelta(seconds=settings.PENDING_STALE_AFTER_S),
            processing_stale_after=timedelta(seconds=settings.PROCESSING_STALE_AFTER_S),
            deadline=timedelta(seconds=settings.PROCESSING_DEADLINE_S),
            retry_at_deadline=settings.STALE_POLICY == "retry",
            max_attempts=settings.MAX_ATTEMPTS,
        )


@dataclass
class SweepReport:
    sent: list[int] = field(default_factory=list)
    succeeded: list[int] = field(default_factory=list)
    """Outcome found in the result backend and applied: the callback had been lost."""
    failed: list[int] = field(default_factory=list)
    timed_out: list[int] = field(default_factory=list)
    retried: list[int] = field(default_factory=list)
    unreadable: list[int] = field(default_factory=list)
    """The result backend could not be read; looked at again next time."""

    def counts(self) -> dict[str, int]:
        return {name: len(ids) for name, ids in vars(self).items()}


def file_sweep(
    *,
    now: datetime,
    policy: SweepPolicy,
    outcome_of: Callable[..., Outcome] = attempt_outcome,
) -> SweepReport:
    report = SweepReport()
    with services.acting_as(FileEvent.Source.SWEEPER):  # the files' history says who acted
        _sweep_processing(now=now, policy=policy, outcome_of=outcome_of, report=report)
        _sweep_pending(now=now, policy=policy, report=report)
    if any(report.counts().values()):
        logger.info("Sweep: %s", report.counts())
    return report


def _stale_ids(*, limit: int, **filters: object) -> list[int]:
    # skip_locked: a file some other transaction holds right now (a callback being applied, a
    # concurrent sweeper) is not stale, it is moving; leave it to that transaction.
    with transaction.atomic():
        return list(
            File.objects.select_for_update(skip_locked=True)
            .filter(**filters)
            .order_by("pk")
            .values_list("pk", flat=True)[:limit]
        )


def _sweep_pending(*, now: datetime, policy: SweepPolicy, report: SweepReport) -> None:
    ids = _stale_ids(
        limit=policy.batch,
        status=File.Status.PENDING,
        updated_at__lt=now - policy.pending_stale_after,
    )
    for file_id in ids:
        try:
            transition = services.file_dispatch(file_id=file_id)
        except Exception:  # noqa: BLE001 - whatever the broker raised, the file stays PENDING
            # Logged by file_dispatch; the broker is likely down, so the rest wait for the next
            # sweep rather than each wait out a connection timeout now.
            logger.warning("Sweep: sending stopped after a failure; %s files wait", len(ids))
            return
        if transition.applied:
            report.sent.append(file_id)


def _sweep_processing(
    *,
    now: datetime,
    policy: SweepPolicy,
    outcome_of: Callable[..., Outcome],
    report: SweepReport,
) -> None:
    ids = _stale_ids(
        limit=policy.batch,
        status=File.Status.PROCESSING,
        dispatched_at__lt=now - policy.processing_stale_after,
    )
    for file in File.objects.filter(pk__in=ids).order_by("pk"):
        try:
            outcome = outcome_of(task_id=file.task_id)
        except Exception:
            logger.warning("Sweep: could not read the outcome of file %s", file.pk, exc_info=True)
            report.unreadable.append(file.pk)
            continue
        if outcome.finished and not _is_wire_failure(outcome):
            _apply_outcome(file=file, outcome=outcome, report=report)
        elif file.dispatched_at is not None and file.dispatched_at < now - policy.deadline:
            _give_up(file=file, policy=policy, report=report)


def _is_wire_failure(outcome: Outcome) -> bool:
    # Not the file's outcome (see outcomes.failure_is_wire_error): wait for the deadline.
    exc = outcome.result if isinstance(outcome.result, BaseException) else None
    return outcome.state == "FAILURE" and failure_is_wire_error(exc)


def _apply_outcome(*, file: File, outcome: Outcome, report: SweepReport) -> None:
    logger.warning(
        "Sweep: file %s has outcome %s for task %s but no callback applied it; applying it",
        file.pk,
        outcome.state,
        file.task_id,
    )
    if outcome.state == "SUCCESS":
        try:
            summary = ProcessingResult.model_validate(outcome.result)
        except ValidationError:
            code, message = ErrorCode.INTERNAL_ERROR, "Processing returned an unreadable result."
        else:
            if services.file_mark_succeeded(
                file_id=file.pk, task_id=file.task_id, result=summary
            ).applied:
                report.succeeded.append(file.pk)
            return
    else:
        exc = outcome.result if isinstance(outcome.result, BaseException) else None
        code, message = failure_describe(exc)
    if services.file_mark_failed(
        file_id=file.pk, task_id=file.task_id, code=code, message=message
    ).applied:
        report.failed.append(file.pk)


def _give_up(*, file: File, policy: SweepPolicy, report: SweepReport) -> None:
    if policy.retry_at_deadline and file.attempts < policy.max_attempts:
        if services.file_abandon_attempt(file_id=file.pk, task_id=file.task_id).applied:
            report.retried.append(file.pk)
            try:
                services.file_dispatch(file_id=file.pk)
            except Exception:  # noqa: BLE001 - logged; PENDING now, so the next sweep sends it
                return
        return
    seconds = int(policy.deadline.total_seconds())
    if services.file_mark_failed(
        file_id=file.pk,
        task_id=file.task_id,
        code=ErrorCode.NO_OUTCOME,
        message=NO_OUTCOME_MESSAGE.format(seconds=seconds),
    ).applied:
        report.timed_out.append(file.pk)
        logger.warning("Sweep: file %s failed: %s", file.pk, ERROR_HINTS[ErrorCode.NO_OUTCOME])
