"""A caller's toolkit: send B's task with both callbacks routed home, and read what a
forwarded error callback means. Used by A (files/dispatch.py, files/tasks.py) and by any
other caller (docs/adding-a-system.md, tests/system_c).

How Celery 5.7 delivers the callbacks, and why they look like this (docs/callbacks.md):

* The worker that ran the task publishes them with *its* configuration, so each signature
  carries the caller's queue explicitly; without it, the callback lands in B's queue.
* B does not know the caller's error callback, so it forwards it as a message whose first
  argument is the failed task's id (``Backend._call_task_errbacks``); the failure itself is
  stored in the result backend before the message goes out. Use a plain mutable ``.s()``
  error callback taking ``(failed_task_id, **your_kwargs)``.
* The success callback gets B's return value as its first argument, and may run before the
  result is stored: read the result from the argument, never from the backend.
* Either may be delivered twice: make them idempotent.
"""

from typing import Any

from celery import Celery
from celery.canvas import Signature
from celery.result import AsyncResult
from celery.utils.log import get_logger

from shared_schema.errors import ProcessingError
from shared_schema.names import PROCESS_TASK, QUEUE_SYSTEM_B
from shared_schema.outcomes import OutcomeUnknown, failure_classify
from shared_schema.payloads import ProcessingRequest
from shared_schema.wire.queues import peer_queue

logger = get_logger(__name__)

RESULT_ARGSREPR = f"(<the result of {PROCESS_TASK}>,)"
"""What the success callback's message shows for its arguments (``argsrepr``)."""


def processing_send(
    app: Celery,
    *,
    request: ProcessingRequest,
    task_id: str,
    reply_queue: str,
    link: Signature[Any],
    link_error: Signature[Any],
) -> AsyncResult[Any]:
    """Send ``remote.processing`` for ``request`` to B's queue, with ``link`` and
    ``link_error`` set to ``reply_queue``, the caller's own queue.

    Both queues are checked with a passive declare before the message goes out (once per
    broker connection; kombu caches it): if B's queue or the caller's does not exist, this
    raises ``amqp.exceptions.NotFound`` and nothing is sent, since a reply B could not publish
    would be lost. Raises whatever the broker raised; the caller keeps its work pending and
    sends it again later.
    """
    # The success callback's argument is B's whole result: its repr in the message (for
    # monitors and log lines) would be made on B's hot path, to print what A stores anyway.
    # https://docs.celeryq.dev/en/stable/userguide/tasks.html#hiding-sensitive-information-in-arguments
    on_success = link.clone().set(queue=reply_queue)
    on_success.options["argsrepr"] = RESULT_ARGSREPR  # an apply_async option the stubs omit
    return app.send_task(
        PROCESS_TASK,
        kwargs={"payload": request.model_dump(mode="json")},
        task_id=task_id,
        queue=QUEUE_SYSTEM_B,
        declare=[peer_queue(QUEUE_SYSTEM_B), peer_queue(reply_queue)],
        link=on_success,
        link_error=link_error.clone().set(queue=reply_queue),
    )


def failure_read(app: Celery, failed_task_id: str) -> ProcessingError | OutcomeUnknown:
    """What the failure of B's task ``failed_task_id`` means to the caller: call it from the
    error callback with the id it received first.

    A :class:`~shared_schema.errors.ProcessingError` (the contract's class, with its code and
    a message meant for people) is the work's outcome: apply it. :class:`OutcomeUnknown` is
    not: the wire failed (the stored failure is a broker or backend error, or the backend could
    not be read); leave the work as it is for a redelivered run or the caller's reconciliation.
    """
    try:
        stored = AsyncResult(failed_task_id, app=app).result
    except Exception as unreadable:  # noqa: BLE001 - the backend retried already
        logger.warning("Could not read why task %s failed: %r", failed_task_id, unreadable)
        return OutcomeUnknown(reason=f"the result backend could not be read: {unreadable!r}")
    failure = stored if isinstance(stored, BaseException) else None
    outcome = failure_classify(failure)
    if isinstance(outcome, ProcessingError) and outcome is not failure:
        # Outside the contract: the details (B's paths, internals) go to the log only.
        logger.error(
            "Task %s failed with an error outside the contract: %r", failed_task_id, failure
        )
    return outcome
