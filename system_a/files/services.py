"""Every write to ``File`` goes through here: one guarded service per transition.

A transition applies only from the state it expects and, for callbacks, only for the current
attempt's task id. Anything else (a duplicate, a late callback of an earlier attempt, a callback
for a file already finished) changes nothing, is logged with what was found, and is reported
back to the caller as ``applied=False``.
"""

import contextlib
import logging
import uuid
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from files.models import File, FileEvent
from files.storage import storage_delete, storage_save_upload
from shared_schema.errors import ErrorCode
from shared_schema.payloads import ProcessingResult
from shared_schema.telemetry import file_span, log_context

logger = logging.getLogger(__name__)


class UploadRejected(Exception):
    """The upload was refused before anything was stored."""


_acting: ContextVar[FileEvent.Source | None] = ContextVar("acting", default=None)


@contextlib.contextmanager
def acting_as(source: FileEvent.Source) -> Iterator[None]:
    """Record the history events of the transitions made inside as ``source``'s doing (the
    sweeper applying an outcome, sending, giving up), whatever the service's own default."""
    token = _acting.set(source)
    try:
        yield
    finally:
        _acting.reset(token)


def _event(
    *,
    file_id: int,
    kind: FileEvent.Kind,
    task_id: str = "",
    from_status: str = "",
    to_status: str = "",
    detail: str = "",
    source: FileEvent.Source = FileEvent.Source.USER,
) -> None:
    """One row of the file's history. Called inside each guarded transition, in its
    transaction, so a change and its record commit together."""
    FileEvent.objects.create(
        file_id=file_id,
        kind=kind,
        task_id=task_id,
        from_status=from_status,
        to_status=to_status,
        detail=detail,
        source=_acting.get() or source,
    )


@dataclass(frozen=True)
class Transition:
    applied: bool
    found: File.Status
    """The state the file was in when the transition was attempted."""


def file_create(
    *,
    upload: UploadedFile,
    owner: User | None = None,
    storage_root: Path | None = None,
) -> File:
    """Store ``upload``, record it as its first attempt, and send it once the commit lands.

    The row is inserted PROCESSING with the attempt's task id already set (one transaction, not
    an insert and then a dispatch), so a callback arriving within milliseconds finds the attempt
    it belongs to. Sending after commit means System B (and A's callbacks) can never see a file
    the database does not have yet. If sending fails, the attempt is rolled back to PENDING and
    the sweeper sends it later.
    """
    size = upload.size or 0
    if size == 0:
        raise UploadRejected("The file is empty.")
    if size > settings.MAX_UPLOAD_BYTES:
        raise UploadRejected(
            f"The file is {size:,} bytes; the limit is {settings.MAX_UPLOAD_BYTES:,} bytes."
        )
    root = storage_root or settings.STORAGE_ROOT
    # Durable (written, fsync'd, renamed) before the row that points at it commits.
    key = storage_save_upload(upload=upload, root=root)
    task_id = str(uuid.uuid4())
    now = timezone.now()
    try:
        with transaction.atomic():
            file = File.objects.create(
                owner=owner,
                original_name=(upload.name or "upload")[:255],
                storage_key=key,
                size_bytes=size,
                status=File.Status.PROCESSING,
                task_id=task_id,
                attempts=1,
                created_at=now,
                dispatched_at=now,
            )
            _event(
                file_id=file.pk,
                kind=FileEvent.Kind.UPLOADED,
                to_status=File.Status.PENDING,
                detail=f"{size:,} bytes",
            )
            _event(
                file_id=file.pk,
                kind=FileEvent.Kind.SENT,
                task_id=task_id,
                from_status=File.Status.PENDING,
                to_status=File.Status.PROCESSING,
                detail="attempt 1",
            )
            transaction.on_commit(lambda: _file_send_on_commit(file=file, task_id=task_id))
    except BaseException:
        storage_delete(key=key, root=root)  # no record, so no stored bytes either
        raise
    return file


def _file_send_on_commit(*, file: File, task_id: str) -> None:
    # A broker outage is logged, not raised: the upload itself succeeded, the file is PENDING
    # again and the sweeper sends it. The caller's copy is refreshed to say so.
    try:
        _file_send(file=file, task_id=task_id, attempt=1)
    except Exception:  # noqa: BLE001 - logged by _file_send
        file.refresh_from_db(fields=["status", "task_id", "attempts", "updated_at"])


def file_dispatch(*, file_id: int) -> Transition:
    """Send a PENDING file to System B as a new attempt.

    The file is marked PROCESSING with the new task id *before* the message is published, so
    even a callback that arrives within milliseconds finds the attempt it belongs to. If the
    publish fails, the attempt is rolled back to PENDING for the sweeper to send again.
    """
    file = File.objects.get(pk=file_id)
    if file.status != File.Status.PENDING:
        logger.info("Not dispatching file %s: it is %s, not PENDING", file_id, file.status)
        return Transition(applied=False, found=File.Status(file.status))
    task_id = str(uuid.uuid4())
    now = timezone.now()
    # One guarded statement instead of a locking read and a save: PostgreSQL re-checks the
    # WHERE clause on the row it locks, so of two concurrent dispatchers exactly one claims the
    # file. (Name and storage key, read above, never change.)
    with transaction.atomic():
        claimed = File.objects.filter(pk=file_id, status=File.Status.PENDING).update(
            status=File.Status.PROCESSING,
            task_id=task_id,
            attempts=F("attempts") + 1,
            dispatched_at=now,
            updated_at=now,
        )
        if claimed:
            _event(
                file_id=file_id,
                kind=FileEvent.Kind.SENT,
                task_id=task_id,
                from_status=File.Status.PENDING,
                to_status=File.Status.PROCESSING,
                detail=f"attempt {file.attempts + 1}",
            )
    if not claimed:
        found = File.Status(File.objects.values_list("status", flat=True).get(pk=file_id))
        logger.info("Not dispatching file %s: it became %s, not PENDING", file_id, found)
        return Transition(applied=False, found=found)
    _file_send(file=file, task_id=task_id, attempt=file.attempts + 1)
    return Transition(applied=True, found=File.Status.PENDING)


def _file_send(*, file: File, task_id: str, attempt: int) -> None:
    """Publish the attempt ``task_id`` of ``file``, already PROCESSING in the database; if the
    broker does not take it, roll the attempt back to PENDING and re-raise."""
    from files.dispatch import processing_request_send  # the only caller of send_task

    # The message, its log lines, and B's task and callbacks after it, name this attempt.
    with (
        log_context(file_id=file.pk, task_id=task_id, attempt=attempt),
        file_span("file.send", file_id=file.pk, task_id=task_id, attempt=attempt),
    ):
        try:
            processing_request_send(file=file, task_id=task_id)
        except Exception:
            logger.exception(
                "Could not send file %s to System B; it stays PENDING",
                file.pk,
                extra={"event": "file.send_failed"},
            )
            _file_undo_dispatch(file_id=file.pk, task_id=task_id)
            raise
        logger.info(
            "Sent file %s to System B as task %s", file.pk, task_id, extra={"event": "file.sent"}
        )


def _file_undo_dispatch(*, file_id: int, task_id: str) -> None:
    with transaction.atomic():
        updated = File.objects.filter(
            pk=file_id, status=File.Status.PROCESSING, task_id=task_id
        ).update(
            status=File.Status.PENDING,
            task_id="",
            attempts=F("attempts") - 1,  # a message the broker never took is not an attempt
            updated_at=timezone.now(),
        )
        if updated:
            _event(
                file_id=file_id,
                kind=FileEvent.Kind.SEND_FAILED,
                task_id=task_id,
                from_status=File.Status.PROCESSING,
                to_status=File.Status.PENDING,
                detail="The broker did not take the message; the sweeper sends it again.",
            )
    if not updated:
        logger.warning("File %s moved on before its failed dispatch could be undone", file_id)


def file_dispatch_on_commit(*, file_id: int) -> None:
    """Dispatch after the surrounding transaction commits; a broker outage is logged, not raised."""

    def send() -> None:
        # Already logged by file_dispatch; the file is PENDING and the sweeper will send it.
        with contextlib.suppress(Exception):
            file_dispatch(file_id=file_id)

    transaction.on_commit(send)


def file_mark_succeeded(*, file_id: int, task_id: str, result: ProcessingResult) -> Transition:
    outcome = _file_finish(
        file_id=file_id,
        task_id=task_id,
        status=File.Status.SUCCESS,
        result=result.model_dump(mode="json"),
        detail=f"{result.rows:,} {'row' if result.rows == 1 else 'rows'}",
    )
    if outcome.applied:
        logger.info(
            "File %s processed: %s rows (task %s)",
            file_id,
            result.rows,
            task_id,
            extra={"event": "file.succeeded", "file_id": file_id, "task_id": task_id},
        )
    return outcome


def file_mark_failed(*, file_id: int, task_id: str, code: ErrorCode, message: str) -> Transition:
    outcome = _file_finish(
        file_id=file_id,
        task_id=task_id,
        status=File.Status.FAILED,
        error_code=code.value,
        error_message=message,
        detail=f"{code.value}: {message}",
    )
    if outcome.applied:
        logger.info(
            "File %s failed with %s (task %s): %s",
            file_id,
            code.value,
            task_id,
            message,
            extra={
                "event": "file.failed",
                "file_id": file_id,
                "task_id": task_id,
                "error_code": code.value,
            },
        )
    return outcome


def _file_finish(
    *,
    file_id: int,
    task_id: str,
    status: File.Status,
    result: dict[str, Any] | None = None,
    error_code: str = "",
    error_message: str = "",
    detail: str = "",
) -> Transition:
    """PROCESSING -> ``status``, for the current attempt only: the one guard both outcomes share.

    One guarded UPDATE, not a locking read and a save: the state and the attempt's task id are
    in the WHERE clause, which PostgreSQL re-checks on the row it locks, so a duplicate or a
    racing callback updates nothing. Only then is the row read, to say what was found.
    """
    now = timezone.now()
    kind = FileEvent.Kind.SUCCEEDED if status == File.Status.SUCCESS else FileEvent.Kind.FAILED
    # A sweep applying an outcome whose callback was lost does so in the file's trace.
    with file_span("file.finish", file_id=file_id, task_id=task_id), transaction.atomic():
        applied = File.objects.filter(
            pk=file_id, status=File.Status.PROCESSING, task_id=task_id
        ).update(
            status=status,
            result=result,
            error_code=error_code,
            error_message=error_message,
            finished_at=now,
            updated_at=now,
        )
        if applied:
            _event(
                file_id=file_id,
                kind=kind,
                task_id=task_id,
                from_status=File.Status.PROCESSING,
                to_status=status,
                detail=detail,
                source=FileEvent.Source.CALLBACK,
            )
            return Transition(applied=True, found=File.Status.PROCESSING)
        file = File.objects.get(pk=file_id)
        _is_current_attempt(file, task_id=task_id, action=f"mark {status.label.lower()}")
        _event(
            file_id=file_id,
            kind=FileEvent.Kind.IGNORED,
            task_id=task_id,
            from_status=file.status,
            to_status=file.status,
            detail=f"{kind.label} outcome for an attempt that is not current"
            f" (current task: {file.task_id or 'none'}): {detail}",
            source=FileEvent.Source.CALLBACK,
        )
        return Transition(applied=False, found=File.Status(file.status))


def file_retry(*, file_id: int) -> Transition:
    """Start a new attempt for a FAILED file; late callbacks of the old attempt are ignored."""
    with transaction.atomic():
        file = File.objects.select_for_update().get(pk=file_id)
        if file.status != File.Status.FAILED:
            logger.info("Not retrying file %s: it is %s, not FAILED", file_id, file.status)
            return Transition(applied=False, found=File.Status(file.status))
        _event(
            file_id=file_id,
            kind=FileEvent.Kind.RETRY_REQUESTED,
            task_id=file.task_id,
            from_status=File.Status.FAILED,
            to_status=File.Status.PENDING,
            detail=f"after {file.error_code}",
        )
        file.status = File.Status.PENDING
        file.task_id = ""
        file.error_code = ""
        file.error_message = ""
        file.finished_at = None
        file.save(
            update_fields=[
                "status",
                "task_id",
                "error_code",
                "error_message",
                "finished_at",
                "updated_at",
            ]
        )
        file_dispatch_on_commit(file_id=file_id)
    return Transition(applied=True, found=File.Status.FAILED)


def file_abandon_attempt(*, file_id: int, task_id: str) -> Transition:
    """Give up on a PROCESSING attempt without an outcome and make the file PENDING again.

    The sweeper's retry policy: the next dispatch is a new attempt with a new task id, so a
    late callback of the abandoned one is ignored.
    """
    with transaction.atomic():
        file = File.objects.select_for_update().get(pk=file_id)
        if not _is_current_attempt(file, task_id=task_id, action="abandon attempt of"):
            return Transition(applied=False, found=File.Status(file.status))
        file.status = File.Status.PENDING
        file.task_id = ""
        file.save(update_fields=["status", "task_id", "updated_at"])
        _event(
            file_id=file_id,
            kind=FileEvent.Kind.ABANDONED,
            task_id=task_id,
            from_status=File.Status.PROCESSING,
            to_status=File.Status.PENDING,
            detail="No outcome before the deadline; a new attempt follows.",
            source=FileEvent.Source.SWEEPER,
        )
    logger.warning(
        "File %s: abandoned attempt %s (task %s)",
        file_id,
        file.attempts,
        task_id,
        extra={"event": "file.attempt_abandoned", "file_id": file_id, "task_id": task_id},
    )
    return Transition(applied=True, found=File.Status.PROCESSING)


def _is_current_attempt(file: File, *, task_id: str, action: str) -> bool:
    if file.status != File.Status.PROCESSING or file.task_id != task_id:
        logger.warning(
            "Ignored callback to %s file %s for task %s: found %s with current task %r",
            action,
            file.pk,
            task_id,
            file.status,
            file.task_id or None,
            extra={"event": "file.callback_ignored", "file_id": file.pk, "task_id": task_id},
        )
        return False
    return True


def file_delete(*, file_id: int, finished_only: bool = True) -> Transition:
    """Delete the file's record, its history and, once that commits, its stored bytes: the
    upload and B's normalized output.

    A person may delete only a finished file (SUCCESS or FAILED): one PENDING or PROCESSING is
    about to be read by System B, whose output would be left behind. The admin passes
    ``finished_only=False``; a late callback for the deleted file then finds nothing to change.
    """
    with transaction.atomic():
        file = File.objects.select_for_update().filter(pk=file_id).first()
        if file is None:
            raise File.DoesNotExist(f"No file {file_id}")
        found = File.Status(file.status)
        if finished_only and found not in (File.Status.SUCCESS, File.Status.FAILED):
            logger.info("Not deleting file %s: it is %s, not finished", file_id, found)
            return Transition(applied=False, found=found)
        keys = [key for key in (file.storage_key, file.output_key) if key]
        file.delete()
        transaction.on_commit(lambda: _stored_bytes_delete(keys=keys))
    logger.info("Deleted file %s (%s) and its stored bytes", file_id, found)
    return Transition(applied=True, found=found)


def _stored_bytes_delete(*, keys: list[str]) -> None:
    # The output key came from B's result: delete only what resolves inside the storage root.
    root = settings.STORAGE_ROOT.resolve()
    for key in keys:
        path = (root / key).resolve()
        if path.is_relative_to(root) and path != root:
            storage_delete(key=str(path.relative_to(root)), root=root)
        else:
            logger.warning("Not deleting %r: it is outside the storage root", key)
