"""Reads of ``File`` and of what the result backend says about a running attempt."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from celery import current_app
from celery.result import AsyncResult
from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet

from files.models import File, FileEvent
from shared_schema.payloads import PROGRESS_STATE, ProcessingProgress


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


def file_output_path(*, file: File, storage_root: Path | None = None) -> Path | None:
    """The normalized output System B wrote for ``file``, if it exists inside the storage root.

    The key comes from B's result, so it is checked like any path from the wire: a key that
    resolves outside the root (``..``, an absolute path, a symlink) is treated as no output.
    """
    if file.status != File.Status.SUCCESS or not file.output_key:
        return None
    root = (storage_root or settings.STORAGE_ROOT).resolve()
    path = (root / file.output_key).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        return None
    return path


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


def file_activity(*, file: File) -> Activity | None:
    """B's progress for a PROCESSING file; ``None`` when there is nothing to ask about."""
    if file.status != File.Status.PROCESSING or not file.task_id:
        return None
    result: AsyncResult[Any] = AsyncResult(file.task_id, app=current_app)
    try:
        state: str = result.state
        info = result.info
    except Exception:  # noqa: BLE001 - progress is a nicety; the page must render without it
        return Activity(state="UNKNOWN")
    progress = None
    if state == PROGRESS_STATE and isinstance(info, dict):
        progress = ProcessingProgress.model_validate(info)
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
    """The stored outcome of ``task_id``. Raises if the result backend cannot be read."""
    result: AsyncResult[Any] = AsyncResult(task_id, app=current_app)
    state: str = result.state
    if state in ("SUCCESS", "FAILURE"):
        return Outcome(state=state, result=result.result)
    return Outcome(state=state)


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
