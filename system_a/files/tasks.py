"""System A's callbacks: the tasks B's worker links to. Thin: validate, then call a service.

Both run on A's worker, from A's queue. They receive what Celery gives a forwarded callback on
the pinned version (see docs/callbacks.md): the success link gets B's return value first; the
error link gets the failed task's id first, and ``shared_schema.wire.failure_read`` reads what
B stored in the result backend before publishing it: the contract's error, or a failure of the
wire that leaves the file for the sweeper.
"""

from typing import Any

from celery import Task, shared_task
from celery.utils.log import get_task_logger
from django.db import InterfaceError, OperationalError
from django.utils import timezone
from pydantic import ValidationError

from files import services, sweeper
from shared_schema.errors import ErrorCode
from shared_schema.payloads import ProcessingResult
from shared_schema.wire import OutcomeUnknown, failure_read

logger = get_task_logger(__name__)

CALLBACK_OPTIONS: dict[str, Any] = {
    "bind": True,
    # A database blip must not lose a callback: retry it (republished to A's own queue) with
    # backoff.
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": 1,
    "retry_backoff_max": 60,
    "max_retries": 12,
    # A callback's effect is the File row; nothing reads its return value from the result
    # backend, so storing it would be a Redis read and write per file for no one.
    "ignore_result": True,
}


@shared_task(name="system_a.file_processing_succeeded", **CALLBACK_OPTIONS)
def file_processing_succeeded(
    self: Task[Any, Any], result: Any, *, file_id: int, task_id: str
) -> bool:
    # Read the result from the argument, never from the backend: the link can run before B's
    # result is stored.
    try:
        summary = ProcessingResult.model_validate(result)
    except ValidationError as exc:
        logger.error("File %s: System B returned a result outside the contract: %s", file_id, exc)
        return services.file_mark_failed(
            file_id=file_id,
            task_id=task_id,
            code=ErrorCode.INTERNAL_ERROR,
            message="Processing returned a result that could not be read.",
        ).applied
    return services.file_mark_succeeded(file_id=file_id, task_id=task_id, result=summary).applied


@shared_task(name="system_a.file_processing_failed", **CALLBACK_OPTIONS)
def file_processing_failed(
    self: Task[Any, Any], failed_task_id: str, *, file_id: int, task_id: str
) -> bool:
    if failed_task_id != task_id:
        logger.warning(
            "File %s: error callback for task %s names failed task %s",
            file_id,
            task_id,
            failed_task_id,
        )
    outcome = failure_read(self.app, failed_task_id)
    if isinstance(outcome, OutcomeUnknown):
        logger.warning(
            "File %s: task %s recorded a broker/backend error (%s), not a processing failure; "
            "leaving the file PROCESSING for the redelivered run or the sweeper",
            file_id,
            failed_task_id,
            outcome.reason,
        )
        return False
    return services.file_mark_failed(
        file_id=file_id, task_id=task_id, code=outcome.code, message=outcome.message
    ).applied


@shared_task(name="system_a.file_sweep", ignore_result=True)
def file_sweep() -> dict[str, int]:
    """Beat's periodic reconciliation (CELERY_BEAT_SCHEDULE); the logic is files.sweeper."""
    report = sweeper.file_sweep(now=timezone.now(), policy=sweeper.SweepPolicy.from_settings())
    return report.counts()
