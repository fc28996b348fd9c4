"""Reads of ``File`` and of what the result backend says about a running attempt."""

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from celery import current_app, states
from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.db.models import QuerySet
from pydantic import ValidationError

from files.models import File, FileEvent
from shared_schema.keys import output_key_of
from shared_schema.payloads import PROGRESS_STATE, ProcessingProgress

logger = logging.getLogger(__name__)

UNKNOWN_STATE = "UNKNOWN"
"""What A shows when the result backend cannot be read or holds something unexpected."""
KNOWN_STATES = frozenset(states.ALL_STATES | {PROGRESS_STATE})


def file_list(*, owner: User | AnonymousUser, name: str = "", status: str = "") -> QuerySet[File]:
    """The files ``owner`` uploaded, newest first; nothing for an anonymous user.

    ``name`` keeps the files whose name contains it (any case); ``status`` those in that state
    (a ``File.Status`` value; anything else matches nothing).
    """
    if isinstance(owner, AnonymousUser) or not owner.is_authenticated:
        return File.objects.none()
    files = File.objects.filter(owner=owner)
    if name:
        files = files.filter(original_name__icontains=name)
    if status:
        files = files.filter(status=status)
    return files


def file_get(*, owner: User | AnonymousUser, file_id: int) -> File:
    """One of ``owner``'s files. Another user's file raises ``File.DoesNotExist`` exactly as a
    missing one does, so its existence is never revealed."""
    return file_list(owner=owner).get(pk=file_id)


def file_ids_free(*, limit: int, **filters: object) -> list[int]:
    """Up to ``limit`` ids of files matching ``filters``, oldest first, that no other transaction
    holds right now.

    skip_locked: a file some other transaction holds (a callback being applied, a concurrent
    relay or sweeper) is moving, not stale; it is left to that transaction.
    """
    with transaction.atomic():
        return list(
            File.objects.select_for_update(skip_locked=True)
            .filter(**filters)
            .order_by("pk")
            .values_list("pk", flat=True)[:limit]
        )


def file_output_key(*, file: File) -> str | None:
    """The storage key of the normalized output System B wrote for ``file``, if it has one.

    Where it lives is derived from the file's own storage key (``shared_schema.keys``), never
    taken from B's result: a stored result naming any other key is logged and treated as no
    output. Whether something is stored there, and whether the store accepts the key at all
    (a symlink out of a directory store), is for the read to find out (files/downloads.py).
    """
    if file.status != File.Status.SUCCESS or not file.output_key:
        return None
    key = output_key_of(file.storage_key)
    if file.output_key != key:
        logger.error(
            "File %s: its stored output key %r is not %r; not serving it",
            file.pk,
            file.output_key,
            key,
        )
        return None
    return key


@dataclass(frozen=True)
class Activity:
    """What System B is doing with the current attempt, from the result backend."""

    state: str
    """Celery's state: PENDING (queued, or unknown), STARTED, PROGRESS, SUCCESS, FAILURE, ..."""
    progress: ProcessingProgress | None = None

    @property
    def percent(self) -> int | None:
        return self.progress.percent if self.progress is not None else None

    @property
    def label(self) -> str:
        if self.state == PROGRESS_STATE and self.progress is not None:
            return f"running, {self.progress.percent}% ({self.progress.rows:,} rows)"
        return {"PENDING": "queued", "STARTED": "running", "RETRY": "retrying"}.get(
            self.state, self.state.lower()
        )


class MalformedMeta(Exception):
    """The result backend holds something for a task that is not a task meta A can read."""


def _stored_meta(task_id: str) -> dict[str, Any] | None:
    """The task meta stored for ``task_id``, checked for shape; ``None`` when there is none.

    One GET, outside Celery's retry loop (``result_backend_always_retry``): a page must not
    wait out a Redis outage, and Celery counts the ``KeyError`` of a meta without a status as
    a connection error, retrying it for minutes. Raises ``MalformedMeta`` for anything that is
    not a JSON object with a known state, and Redis' own errors when it cannot be read.
    """
    backend: Any = current_app.backend  # the Redis backend: a key-value store
    raw = backend.get(backend.get_key_for_task(task_id))
    if raw is None:
        return None
    try:
        meta = backend.decode(raw)  # JSON only (result_accept_content)
    except Exception as exc:
        raise MalformedMeta(f"undecodable meta for task {task_id}") from exc
    state = meta.get("status") if isinstance(meta, dict) else None
    if not isinstance(state, str) or state not in KNOWN_STATES:
        raise MalformedMeta(f"no known state in the meta of task {task_id}")
    checked: dict[str, Any] = meta
    return checked


def file_activity(*, file: File) -> Activity | None:
    """B's progress for a PROCESSING file; ``None`` when there is nothing to ask about.

    The result backend is written by another system, so whatever it holds is checked before it
    is shown: anything unreadable or unexpected is "unknown", never an error page.
    """
    if file.status != File.Status.PROCESSING or not file.task_id:
        return None
    try:
        meta = _stored_meta(file.task_id)
    except MalformedMeta:
        logger.warning("File %s: unreadable meta in the result backend", file.pk, exc_info=True)
        return Activity(state=UNKNOWN_STATE)
    except Exception:  # noqa: BLE001 - progress is a nicety; the page must render without it
        return Activity(state=UNKNOWN_STATE)
    if meta is None:
        return Activity(state=states.PENDING)
    state: str = meta["status"]
    if state != PROGRESS_STATE:
        return Activity(state=state)
    try:
        progress = ProcessingProgress.model_validate(meta.get("result"))
    except ValidationError:
        logger.warning("File %s: unreadable progress in the result backend", file.pk)
        return Activity(state=UNKNOWN_STATE)
    return Activity(state=state, progress=progress)


@dataclass(frozen=True)
class Outcome:
    """What the result backend knows about a finished attempt, for the sweeper."""

    state: str
    """SUCCESS, FAILURE, or anything else (not finished, or unknown to the backend)."""
    result: Any = None
    """B's return value on SUCCESS; the rebuilt exception on FAILURE."""

    @property
    def finished(self) -> bool:
        return self.state in ("SUCCESS", "FAILURE")


def attempt_outcome(*, task_id: str) -> Outcome:
    """The stored outcome of ``task_id``. Raises if the result backend cannot be read.

    A meta that is not one (``MalformedMeta``) is no outcome: the attempt waits for its
    deadline like one that never reported back, rather than be "unreadable" forever.
    """
    try:
        meta = _stored_meta(task_id)
    except MalformedMeta:
        logger.warning("Task %s: unreadable meta in the result backend", task_id, exc_info=True)
        return Outcome(state=UNKNOWN_STATE)
    if meta is None:
        return Outcome(state=states.PENDING)
    state: str = meta["status"]
    if state == states.SUCCESS:
        return Outcome(state=state, result=meta.get("result"))
    if state == states.FAILURE:
        return Outcome(state=state, result=_stored_exception(task_id=task_id, meta=meta))
    return Outcome(state=state)


def _stored_exception(*, task_id: str, meta: dict[str, Any]) -> BaseException | None:
    """The exception B stored, rebuilt as Celery rebuilds it; ``None`` when it cannot be."""
    try:
        exc = current_app.backend.exception_to_python(meta.get("result"))
    except Exception:  # noqa: BLE001 - the failure is known even when its reason is not
        logger.warning("Task %s: unreadable exception in the result backend", task_id)
        return None
    return exc if isinstance(exc, BaseException) else None


def file_events(*, file: File) -> list[FileEvent]:
    """Everything that happened to ``file``, oldest first."""
    return list(file.events.all())


@dataclass
class Attempt:
    """One try at processing a file, as its history tells it."""

    number: int
    task_id: str
    sent_at: datetime
    started_at: datetime | None = None
    """When B's worker began, from B's result (known for a processed attempt)."""
    finished_at: datetime | None = None
    outcome: str = ""
    """A ``FileEvent.Kind`` value (succeeded, failed, abandoned, send_failed), or "" while open."""
    detail: str = ""
    events: list[FileEvent] = field(default_factory=list)

    @property
    def waited(self) -> timedelta | None:
        """From sent to started: time in B's queue."""
        return self.started_at - self.sent_at if self.started_at else None

    @property
    def ran(self) -> timedelta | None:
        """From started to finished, on B's worker."""
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None

    @property
    def took(self) -> timedelta | None:
        """From sent to finished, as A saw it."""
        return self.finished_at - self.sent_at if self.finished_at else None


_ENDS = {
    FileEvent.Kind.SUCCEEDED,
    FileEvent.Kind.FAILED,
    FileEvent.Kind.ABANDONED,
    FileEvent.Kind.SEND_FAILED,
}


def _when(value: object) -> datetime | None:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def file_attempts(*, file: File, events: list[FileEvent] | None = None) -> list[Attempt]:
    """Every attempt at ``file``, oldest first, with its times, from its history rows."""
    attempts: dict[str, Attempt] = {}
    for event in events if events is not None else file_events(file=file):
        if event.kind == FileEvent.Kind.SENT and event.task_id not in attempts:
            attempts[event.task_id] = Attempt(
                number=len(attempts) + 1, task_id=event.task_id, sent_at=event.at
            )
        attempt = attempts.get(event.task_id)
        if attempt is None:
            continue
        attempt.events.append(event)
        if event.kind in _ENDS and not attempt.outcome:
            attempt.outcome, attempt.detail = event.kind, event.detail
            attempt.finished_at = event.at
    if not attempts and file.task_id and file.dispatched_at:  # a file older than its history
        attempts[file.task_id] = Attempt(
            number=file.attempts, task_id=file.task_id, sent_at=file.dispatched_at
        )
    current = attempts.get(file.task_id)
    if current is not None and file.status == File.Status.SUCCESS:
        # B's own clock for the run; the finish A recorded stays the callback's.
        current.started_at = _when(file.summary.get("started_at"))
        current.finished_at = current.finished_at or file.finished_at
    return list(attempts.values())
