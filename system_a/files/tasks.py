"""System A's callbacks and housekeeping: thin adapters that call a service.

The callbacks are the tasks B's worker links to. They run on A's worker, from A's queue, and
receive what Celery gives a forwarded callback on the pinned version (see docs/callbacks.md):
the success link gets B's return value first; the error link gets the failed task's id first
and reads the exception from the result backend, where B stored it before publishing the error
link. What the outcome means for the file is ``services.file_apply_outcome``'s to decide.

Services are imported in the task bodies, not at module level: services send through
files.dispatch, which names these tasks, so a module-level import here would be a cycle.
"""

from typing import Any

from celery import Task, shared_task
from celery.utils.log import get_task_logger
from django.db import InterfaceError, OperationalError

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
) -> str:
    from files import services

    # Read the result from the argument, never from the backend: the link can run before B's
    # result is stored.
    return services.file_apply_outcome(
        file_id=file_id, task_id=task_id, succeeded=True, value=result
    ).value


@shared_task(name="system_a.file_processing_failed", **CALLBACK_OPTIONS)
def file_processing_failed(
    self: Task[Any, Any], failed_task_id: str, *, file_id: int, task_id: str
) -> str:
    from files import services
    from files.selectors import Outcome, attempt_outcome

    if failed_task_id != task_id:
        logger.warning(
            "File %s: error callback for task %s names failed task %s",
            file_id,
            task_id,
            failed_task_id,
        )
    # What the backend holds now, not only the failure this errback was sent for: when B's
    # worker could not publish the success link (the broker went away), Celery recorded a
    # wire error and sent this errback, while the redelivered message ran again and may have
    # stored SUCCESS since. That success is the outcome.
    try:
        outcome = attempt_outcome(task_id=failed_task_id)
    except Exception:  # the failure is known, its reason is not: the sweeper looks again
        logger.exception("File %s: could not read why task %s failed", file_id, failed_task_id)
        outcome = Outcome(state="UNKNOWN")
    return services.file_apply_outcome(
        file_id=file_id,
        task_id=task_id,
        succeeded=outcome.state == "SUCCESS",
        value=outcome.result,
    ).value


# Beat sends both every few seconds; a run that waited longer than its interval (A's worker
# was down) is superseded by the next and expires (config/celery.py keeps it from being
# dead-lettered). Neither stores a result.


@shared_task(name="system_a.file_relay", ignore_result=True)
def file_relay() -> dict[str, int]:
    """The outbox relay (CELERY_BEAT_SCHEDULE); the logic is services.file_relay."""
    from datetime import timedelta

    from django.conf import settings
    from django.utils import timezone

    from files import services

    report = services.file_relay(
        now=timezone.now(), unsent_after=timedelta(seconds=settings.RELAY_UNSENT_AFTER_S)
    )
    return {"resent": len(report.resent), "sent": len(report.sent)}


@shared_task(name="system_a.file_sweep", ignore_result=True)
def file_sweep() -> dict[str, int]:
    """Beat's periodic reconciliation (CELERY_BEAT_SCHEDULE); the logic is files.sweeper."""
    from django.utils import timezone

    from files import sweeper

    report = sweeper.file_sweep(now=timezone.now(), policy=sweeper.SweepPolicy.from_settings())
    return report.counts()
