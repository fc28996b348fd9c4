"""The caller worker's app: ``celery -A bh_caller.app worker``. It knows none of the remote tasks.

Every callback takes a keyword ``tag`` naming the scenario run; the probe records what each
one received, and ``record`` adds what it found out (the backend's state, the rebuilt error).
"""

import os
from typing import Any

from celery import Celery, Task
from celery.result import AsyncResult

from bh_contract.errors import SharedFailure
from bh_contract.names import CALLER_DEFAULT_QUEUE
from bh_probe import record

app = Celery("bh_caller")
app.conf.update(
    broker_url=os.environ["CELERY_BROKER_URL"],
    result_backend=os.environ["CELERY_RESULT_BACKEND"],
    accept_content=["json"],
    result_accept_content=["json"],
    task_serializer="json",
    result_serializer="json",
    result_expires=3600,
    task_default_queue=CALLER_DEFAULT_QUEUE,
    worker_prefetch_multiplier=1,
    broker_connection_retry_on_startup=True,
)


def _describe_failure(task_id: str) -> dict[str, Any]:
    exc = AsyncResult(task_id, app=app).result
    return {
        "exc_type": type(exc).__name__,
        "exc_module": type(exc).__module__,
        "is_contract_class": isinstance(exc, SharedFailure),
        "exc": str(exc)[:200],
    }


@app.task(name="caller.on_success", bind=True)
def on_success(self: Task, result: Any, *, tag: str) -> Any:  # type: ignore[type-arg]
    return result


@app.task(name="caller.on_success_reads_backend", bind=True)
def on_success_reads_backend(self: Task, result: Any, *, tag: str) -> None:  # type: ignore[type-arg]
    stored = AsyncResult(self.request.parent_id, app=app)
    record("observed", tag=tag, backend_state=stored.state, argument=result)


@app.task(name="caller.on_error", bind=True)
def on_error(self: Task, failed_task_id: str, *, tag: str) -> None:  # type: ignore[type-arg]
    """A forwarded errback: the failed task's id first, the reason read from the backend."""
    record("observed", tag=tag, **_describe_failure(failed_task_id))


@app.task(name="caller.on_error_immutable", bind=True)
def on_error_immutable(self: Task, *, tag: str) -> None:  # type: ignore[type-arg]
    """For ``.si()``: only its own arguments; the failed task is ``self.request.parent_id``."""


@app.task(name="caller.on_error_in_process_style", bind=True)
def on_error_in_process_style(
    self: Task,  # type: ignore[type-arg]
    request: Any,
    exc: Any,
    traceback: Any,
    *,
    tag: str,
) -> None:
    """The ``(request, exc, traceback)`` errback of Celery's docs, which assume it is local."""
    record("observed", tag=tag, request=repr(request), exc=repr(exc))


@app.task(name="caller.dummy")
def dummy(*args: Any, tag: str) -> None:
    """The second half of the blog-post chain work-around: does nothing."""


@app.task(name="caller.step")
def step(result: Any, *, tag: str) -> Any:
    return result


@app.task(name="caller.chord_body")
def chord_body(results: list[Any], *, tag: str) -> list[Any]:
    return results


@app.task(name="caller.barrier")
def barrier(*, tag: str) -> None:
    """Runs after every earlier message of its queue was delivered: the runner's barrier."""
