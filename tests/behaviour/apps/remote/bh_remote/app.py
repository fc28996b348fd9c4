"""The remote worker's app: ``celery -A bh_remote.app worker``. It knows none of the callbacks.

Its routing is its own: anything it publishes without an explicit queue (links included) goes
to ``REMOTE_DEFAULT_QUEUE``, which this worker consumes.
"""

import os
import time

from celery import Celery, Task

import bh_probe  # noqa: F401  (connects the signal recorders)
from bh_contract.errors import SharedFailure
from bh_contract.names import REMOTE_DEFAULT_QUEUE

app = Celery("bh_remote")
app.conf.update(
    broker_url=os.environ["CELERY_BROKER_URL"],
    result_backend=os.environ["CELERY_RESULT_BACKEND"],
    accept_content=["json"],
    result_accept_content=["json"],
    task_serializer="json",
    result_serializer="json",
    result_expires=3600,
    task_default_queue=REMOTE_DEFAULT_QUEUE,
    worker_prefetch_multiplier=1,
    broker_connection_retry_on_startup=True,
)
# "<class>+<url>": the Redis backend with one deliberately late store (see backend.py). Set as
# backend_cls because the CELERY_RESULT_BACKEND variable wins over result_backend.
app.backend_cls = "bh_remote.backend:LateSuccessStore+" + os.environ["CELERY_RESULT_BACKEND"]


class RemoteOnlyError(Exception):
    """Defined only in this code base: the caller cannot import it."""


@app.task(name="remote.add")
def add(x: int, y: int) -> int:
    return x + y


@app.task(name="remote.add_store_late")
def add_store_late(x: int, y: int) -> int:
    return x + y


@app.task(name="remote.fail")
def fail(message: str) -> None:
    raise SharedFailure(message)


@app.task(name="remote.fail_private")
def fail_private(message: str) -> None:
    raise RemoteOnlyError(message)


@app.task(
    name="remote.flaky",
    bind=True,
    autoretry_for=(SharedFailure,),
    retry_backoff=1,
    retry_jitter=False,
    max_retries=2,
)
def flaky(self: Task, failures: int) -> int:  # type: ignore[type-arg]
    """Fails on its first ``failures`` runs, then returns how many retries it took."""
    if self.request.retries < failures:
        raise SharedFailure(f"run {self.request.retries + 1} fails")
    return int(self.request.retries)


@app.task(name="remote.past_soft_limit", soft_time_limit=1, time_limit=10)
def past_soft_limit(seconds: float) -> None:
    time.sleep(seconds)  # SoftTimeLimitExceeded is raised in here after 1 s


@app.task(name="remote.past_hard_limit", time_limit=1)
def past_hard_limit(seconds: float) -> None:
    time.sleep(seconds)  # the pool kills this process after 1 s


@app.task(name="remote.hold")
def hold(seconds: float) -> str:
    """Early acknowledgement (Celery's default): the message is gone once the task starts."""
    time.sleep(seconds)
    return "finished"


@app.task(name="remote.hold_late", bind=True, acks_late=True, reject_on_worker_lost=True)
def hold_late(self: Task, seconds: float) -> str:  # type: ignore[type-arg]
    """Acknowledged after it ends, requeued if its process dies; quick once redelivered."""
    if (self.request.delivery_info or {}).get("redelivered"):
        return "redelivered"
    time.sleep(seconds)
    return "finished"
