"""``WireCelery``: the Celery application class every system on the wire uses.

Besides the wire's queue table and dead-letter declaration, it changes one thing in how a
worker finishes a task: **a callback that cannot be published never replaces the outcome of
the task that ran.**

On the pinned Celery (5.7), the worker that ran a task publishes its ``link`` callbacks
(``celery/app/trace.py``, ``_dispatch_callbacks_and_chain``, through ``AMQP._retry_publish``)
before it stores the result, and its ``link_error`` callbacks
(``celery/backends/base.py``, ``Backend._call_task_errbacks``) after it stored the failure.
When either publish raises (the caller's queue does not exist: NOT_FOUND; a least-privilege
user may not write there: ACCESS_REFUSED; a queue declared differently: PRECONDITION_FAILED),
the exception escapes the trace, and Celery stores *it* as the task's result ("Exception
raised outside body"): a good file's SUCCESS, or a broken file's real error, is gone, and
whoever reconciles from the result backend reads a broker error instead.

Here such a failure is logged at CRITICAL, naming the callback, its queue and the task, and
not raised: the task's true outcome is (or stays) stored, and the caller's reconciliation
(A's sweeper) applies it. A callback lost this way is the caller's to recover, exactly like
one lost on the wire.
"""

from collections.abc import Callable
from typing import Any

from celery import Celery
from celery.app import backends
from celery.backends.base import Backend
from celery.utils.log import get_logger

from shared_schema.wire.queues import WireAMQP
from shared_schema.wire.worker import DeclareDeadLetter

logger = get_logger(__name__)

CALLBACK_LOST = (
    "Could not publish the %s callback %r of task %s to queue %r: %s: %s. The task's own "
    "outcome is stored in the result backend; the caller must reconcile from there."
)


def _describe(signature: Any) -> tuple[str, str]:
    """(task name, queue) of a callback signature, as far as it says."""
    try:
        options = signature.get("options") or {}
        return str(signature.get("task")), str(options.get("queue"))
    except Exception:  # noqa: BLE001 - a description must never fail the worker
        return repr(signature), "?"


def callback_publish_failed(*, kind: str, signature: Any, task_id: str, exc: BaseException) -> None:
    """The one loud line for a callback that could not be published."""
    name, queue = _describe(signature)
    logger.critical(CALLBACK_LOST, kind, name, task_id, queue, type(exc).__name__, exc)


class CallbackSafeAMQP(WireAMQP):
    """Link callbacks whose publish fails are logged, not raised (see the module docstring).

    Celery's trace publishes each link with ``_retry_publish(signature.apply_async, (retval,),
    parent_id=...)``; chord bodies go through the same method as ``callback.delay``, and Celery
    handles their failure itself (as a chord error), so only ``apply_async`` is caught.
    """

    def _retry_publish(self, publish: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        celery_retry_publish = super()._retry_publish  # type: ignore[misc]  # not in the stubs
        if getattr(publish, "__name__", "") != "apply_async":
            return celery_retry_publish(publish, *args, **kwargs)
        try:
            return celery_retry_publish(publish, *args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - logged loudly; the outcome must survive
            callback_publish_failed(
                kind="link",
                signature=getattr(publish, "__self__", None),
                task_id=str(kwargs.get("parent_id")),
                exc=exc,
            )
            return None


class _ErrbacksNeverRaise:
    """Mixed into the configured result backend's class: the failure is stored before the
    errbacks are published, so a publish that fails is logged and the stored failure stays."""

    def _call_task_errbacks(self, request: Any, exc: BaseException, traceback: Any) -> None:
        try:
            super()._call_task_errbacks(request, exc, traceback)  # type: ignore[misc]
        except Exception as publish_exc:  # noqa: BLE001 - logged loudly; the outcome survives
            for errback in request.errbacks or ():
                callback_publish_failed(
                    kind="link_error", signature=errback, task_id=request.id, exc=publish_exc
                )


class _NoSubscriptionOnSend:
    """Mixed into the configured result backend's class: sending a task does not subscribe to
    its result.

    Celery's Redis backend subscribes to a task's result channel as the task is sent
    (``RedisBackend.on_task_call``), for an ``AsyncResult.get()`` that may follow, and
    unsubscribes when the ``AsyncResult`` is collected: two Redis commands on the path of every
    send. A system on the wire never waits on a result in the process that sent the task; it
    hears back through its callbacks, and reads the backend with a plain GET. A ``get()`` still
    works: it subscribes when called, and reads the stored result once in case it came first
    (``celery/backends/redis.py``, ``ResultConsumer.on_wait_for_pending``).
    """

    def on_task_call(self, producer: Any, task_id: str) -> None:
        return None


_WIRE_BACKENDS: dict[str, type[Backend]] = {}


def _wire_backend(backend_cls: type[Backend]) -> type[Backend]:
    key = f"{backend_cls.__module__}.{backend_cls.__qualname__}"
    if key not in _WIRE_BACKENDS:
        _WIRE_BACKENDS[key] = type(
            backend_cls.__name__, (_ErrbacksNeverRaise, _NoSubscriptionOnSend, backend_cls), {}
        )
    return _WIRE_BACKENDS[key]


class WireCelery(Celery):
    """Celery with the wire's queue table (any queue not the system's own is a peer), its
    worker's dead-letter declaration, callbacks whose failed publish never replaces a task's
    outcome, and sends that do not subscribe to their result. Configure it with
    ``common_settings`` plus the system's own settings."""

    amqp_cls = f"{CallbackSafeAMQP.__module__}:{CallbackSafeAMQP.__qualname__}"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.steps["consumer"].add(DeclareDeadLetter)

    def _get_backend(self) -> Backend:
        # Celery's own lookup (celery/app/base.py, Celery._get_backend), with the backend's
        # class extended by _ErrbacksNeverRaise and _NoSubscriptionOnSend.
        found: tuple[type[Backend], str | None] = backends.by_url(  # type: ignore[assignment]
            self.backend_cls or self.conf.result_backend, self.loader
        )
        backend_cls, url = found
        return _wire_backend(backend_cls)(app=self, url=url)
