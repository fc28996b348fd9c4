"""``remote.processing``: the thin adapter between the wire and ``processing.file_process``."""

import functools
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from celery import Task, states
from celery.exceptions import SoftTimeLimitExceeded
from celery.utils.log import get_task_logger
from pydantic import ValidationError

from shared_schema.errors import (
    RETRYABLE_ERRORS,
    InvalidRequest,
    ProcessingError,
    ProcessingTimeout,
    StorageUnavailable,
    UnsupportedSchemaVersion,
)
from shared_schema.names import PROCESS_TASK
from shared_schema.payloads import (
    PROGRESS_STATE,
    SUPPORTED_SCHEMA_VERSIONS,
    ProcessingProgress,
    ProcessingRequest,
)
from shared_schema.storage import store_open
from system_b.celery_app import app
from system_b.processing import file_process
from system_b.settings import settings
from system_b.started import StartedLater

logger = get_task_logger(__name__)

PROGRESS_MIN_INTERVAL_S = 1.0
"""Publish progress at most this often: each update is a write to the result backend."""


def progress_throttled(
    publish: Callable[[ProcessingProgress], None],
    *,
    interval: float,
    clock: Callable[[], float] = time.monotonic,
) -> Callable[[ProcessingProgress], None]:
    """``publish``, called at most once per ``interval`` seconds, the first time one interval
    after the throttle is made. A file done sooner reports no progress at all: the STARTED
    state (system_b.started) already tells A it is running, and every update is a write to
    the result backend on the hot path of the round trip."""
    last = clock()

    def offer(progress: ProcessingProgress) -> None:
        nonlocal last
        now = clock()
        if now - last >= interval:
            last = now
            publish(progress)

    return offer


STARTED_LATER = StartedLater(after=0.1, tick=0.05)
"""Records STARTED for a run still going after 0.1 s (system_b.started)."""


@contextmanager
def started_later(task: Task[Any, Any]) -> Iterator[Callable[[], None]]:
    """The run of ``task`` is recorded STARTED if it lasts (``STARTED_LATER``). Yields
    ``settle``, to call before storing any later state; leaving the block settles too."""
    request = task.request  # thread-local to the task's own thread: read here
    task_id = str(request.id)  # always set for a task a worker runs
    STARTED_LATER.begin(
        functools.partial(
            task.backend.store_result,
            task_id,
            {"pid": os.getpid(), "hostname": request.hostname},
            states.STARTED,
            request=request,
        )
    )
    try:
        yield STARTED_LATER.settle
    finally:
        STARTED_LATER.settle()


def request_parse(payload: object) -> ProcessingRequest:
    """The validated request, or a permanent ``InvalidRequest`` / ``UnsupportedSchemaVersion``."""
    if not isinstance(payload, dict):
        raise InvalidRequest(f"The request must be a JSON object, got {type(payload).__name__}.")
    version = payload.get("schema_version")
    if version not in SUPPORTED_SCHEMA_VERSIONS:
        raise UnsupportedSchemaVersion(
            f"Schema version {version!r} is not supported; this worker speaks "
            f"{sorted(SUPPORTED_SCHEMA_VERSIONS)}."
        )
    try:
        return ProcessingRequest.model_validate(payload)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
            for error in exc.errors()
        )
        raise InvalidRequest(f"The request is not valid: {problems}.") from None


@app.task(
    name=PROCESS_TASK,
    bind=True,
    # Only the errors the contract marks retryable (transient storage faults) retry; every
    # other ProcessingError is permanent.
    autoretry_for=RETRYABLE_ERRORS,
    retry_backoff=5,
    retry_backoff_max=120,
    retry_jitter=True,
    max_retries=5,
    # A file that fails on its own merits (or a refused request) is ordinary: Celery logs a
    # failure it "throws" at INFO, without a traceback, instead of ERROR "raised unexpected";
    # the line below names the code and the file. A traceback in B's log means a bug.
    # https://docs.celeryq.dev/en/stable/userguide/tasks.html#Task.throws
    throws=(ProcessingError,),
    # The worker's "succeeded" line shows the start of the result (the upload's key and
    # checksum): the whole summary, columns and sample rows, is A's to show, and making its
    # repr for every file cost more than processing a small one.
    resultrepr_maxsize=160,
)
def process(self: Task[Any, Any], payload: Any) -> dict[str, Any]:
    file_id = payload.get("file_id") if isinstance(payload, dict) else None
    try:
        return _process(self, payload)
    except ProcessingError as exc:
        logger.warning("File %s failed with %s: %s", file_id, exc.code.value, exc.message)
        raise


def _process(self: Task[Any, Any], payload: Any) -> dict[str, Any]:
    request = request_parse(payload)
    logger.info(
        "Processing file %s (%s)",
        request.file_id,
        request.storage_key,
        extra={"event": "file.processing"},
    )

    started_at = datetime.now(UTC)
    try:
        with started_later(self) as settle_started:

            def publish(progress: ProcessingProgress) -> None:
                settle_started()
                self.update_state(state=PROGRESS_STATE, meta=progress.model_dump(mode="json"))

            result = file_process(
                request=request,
                store=store_open(settings.storage_root),
                max_bytes=settings.max_file_bytes,
                max_columns=settings.max_columns,
                max_line_bytes=settings.max_line_bytes,
                max_gzip_ratio=settings.max_gzip_ratio,
                on_progress=progress_throttled(publish, interval=PROGRESS_MIN_INTERVAL_S),
            )
    except SoftTimeLimitExceeded:
        raise ProcessingTimeout(
            f"Processing stopped after the time limit of {settings.soft_time_limit} seconds."
        ) from None
    except OSError as exc:
        # A flaky mount, not a bad file: retried with backoff by autoretry_for. (The S3 store
        # raises StorageUnavailable itself, which passes through as it is.)
        reason = exc.strerror or type(exc).__name__  # never str(exc): it names B's paths
        raise StorageUnavailable(f"Storage error while processing the file: {reason}.") from exc
    # The run's own times, so A can show when B really started and finished the attempt.
    result = result.model_copy(update={"started_at": started_at, "finished_at": datetime.now(UTC)})
    return result.model_dump(mode="json")
