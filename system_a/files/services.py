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
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from pydantic import ValidationError

from files.dispatch import processing_request_send  # the only caller of send_task
from files.models import File, FileEvent
from files.outcomes import failure_describe, failure_is_wire_error
from files.selectors import file_ids_free
from files.statements import Add, file_insert, file_transition, file_update
from files.storage import storage_delete, storage_discard, storage_save_upload
from shared_schema.errors import INFRASTRUCTURE_CODES, ErrorCode, StorageKeyOutsideRoot
from shared_schema.keys import output_key_of
from shared_schema.payloads import ProcessingResult
from shared_schema.storage import STORAGE_FAULTS
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


def _event_of(
    *,
    file_id: int,
    kind: FileEvent.Kind,
    task_id: str = "",
    from_status: str = "",
    to_status: str = "",
    detail: str = "",
    source: FileEvent.Source = FileEvent.Source.USER,
) -> FileEvent:
    """One row of the file's history, not saved yet (``statements.file_transition`` writes it
    with its change; elsewhere it is saved in the change's transaction); ``source`` unless the
    transition is made ``acting_as`` another."""
    return FileEvent(
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
    storage_root: Path | str | None = None,
) -> File:
    """Store ``upload``, record it as its first attempt, and send it once the commit lands.

    ``upload`` may already be in the store (``files.storage.StoredUpload``, streamed there as
    the request arrived); any other upload is copied there a chunk at a time. Raises
    ``UploadRejected`` for an upload refused by its size, ``StorageUnavailable`` when the store
    fails: either way with no row and nothing stored.

    The row is inserted PROCESSING with the attempt's task id already set (one transaction, not
    an insert and then a dispatch), so a callback arriving within milliseconds finds the attempt
    it belongs to. Sending after commit means System B (and A's callbacks) can never see a file
    the database does not have yet. If sending fails, the attempt is rolled back to PENDING and
    the relay sends it later; if this process dies before it sends, the committed row (an
    attempt with no ``sent_at``) is the outbox entry the relay sends (``file_relay``).
    """
    size = upload.size or 0
    if size == 0:
        raise UploadRejected("The file is empty.")
    if size > settings.MAX_UPLOAD_BYTES:
        raise UploadRejected(
            f"The file is {size:,} bytes; the limit is {settings.MAX_UPLOAD_BYTES:,} bytes."
        )
    # Stored whole (shared_schema.storage's write_atomic) before the row that points at it
    # commits; when the store fails, StorageUnavailable leaves with nothing stored.
    key = storage_save_upload(upload=upload, root=storage_root)
    task_id = str(uuid.uuid4())
    now = timezone.now()
    try:
        file = File(
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
        file_insert(
            file=file,
            events=[
                _event_of(
                    file_id=0,  # the new row's (statements.file_insert)
                    kind=FileEvent.Kind.UPLOADED,
                    to_status=File.Status.PENDING,
                    detail=f"{size:,} bytes",
                ),
                _event_of(
                    file_id=0,
                    kind=FileEvent.Kind.SENT,
                    task_id=task_id,
                    from_status=File.Status.PENDING,
                    to_status=File.Status.PROCESSING,
                    detail="attempt 1",
                ),
            ],
        )
    except BaseException:
        storage_discard(key=key, root=storage_root)  # no record, so no stored bytes either
        raise
    # Inside a caller's transaction, once it commits; otherwise now.
    transaction.on_commit(lambda: _file_send_on_commit(file=file, task_id=task_id))
    return file


def _file_send_on_commit(*, file: File, task_id: str, attempt: int = 1) -> None:
    # A broker outage is logged, not raised: the upload itself succeeded, the file is PENDING
    # again and the sweeper sends it. The caller's copy is refreshed to say so.
    try:
        # The upload's own send starts the file's trace; a later attempt's joins it.
        _file_send(file=file, task_id=task_id, attempt=attempt, first=attempt == 1)
    except Exception:  # noqa: BLE001 - logged by _file_send
        file.refresh_from_db(fields=["status", "task_id", "attempts", "updated_at"])


def file_dispatch(*, file_id: int) -> Transition:
    """Send a PENDING file to System B as a new attempt.

    The file is marked PROCESSING with the new task id *before* the message is published, so
    even a callback that arrives within milliseconds finds the attempt it belongs to. The claim
    commits first and is the outbox entry: if this process dies before the broker confirms the
    message, the relay sends it. If the publish fails, the attempt is rolled back to PENDING for
    the relay to send again.

    The claim's commit does not wait for the disk: a database crash that loses it leaves the
    file PENDING, so the attempt whose message did go out finds no current attempt and is
    ignored, and the relay sends the file again (docs/reliability.md).
    """
    task_id = str(uuid.uuid4())
    now = timezone.now()
    # One guarded statement, which also answers what the message needs, instead of a read and a
    # save: PostgreSQL re-checks the WHERE clause on the row it locks, so of two concurrent
    # dispatchers exactly one claims the file.
    claimed = file_transition(
        where={"pk": file_id, "status": File.Status.PENDING},
        values={
            "status": File.Status.PROCESSING,
            "task_id": task_id,
            "attempts": Add(1),
            "dispatched_at": now,
            "sent_at": None,
            "updated_at": now,
        },
        event=_event_of(
            file_id=file_id,
            kind=FileEvent.Kind.SENT,
            task_id=task_id,
            from_status=File.Status.PENDING,
            to_status=File.Status.PROCESSING,
        ),
        event_sql={"detail": "'attempt ' || changed.attempts"},
        returning=("original_name", "storage_key", "attempts"),
        flush=False,
    )
    if claimed is None:
        found = File.Status(File.objects.values_list("status", flat=True).get(pk=file_id))
        logger.info("Not dispatching file %s: it is %s, not PENDING", file_id, found)
        return Transition(applied=False, found=found)
    file = File(pk=file_id, status=File.Status.PROCESSING, task_id=task_id, **claimed)
    _file_send(file=file, task_id=task_id, attempt=file.attempts)
    return Transition(applied=True, found=File.Status.PENDING)


def _file_send(
    *, file: File, task_id: str, attempt: int, undo: bool = True, first: bool = False
) -> None:
    """Publish the attempt ``task_id`` of ``file``, already PROCESSING in the database, and
    record that the broker took it. If the broker does not take it, roll the attempt back to
    PENDING (``undo``) and re-raise. ``first``: the upload's own send, which starts the file's
    trace."""
    # The message, its log lines, and B's task and callbacks after it, name this attempt.
    with (
        log_context(file_id=file.pk, task_id=task_id, attempt=attempt),
        file_span("file.send", file_id=file.pk, first=first, task_id=task_id, attempt=attempt),
    ):
        try:
            processing_request_send(file=file, task_id=task_id)
        except Exception:
            logger.exception(
                "Could not send file %s to System B; it stays PENDING",
                file.pk,
                extra={"event": "file.send_failed"},
            )
            if undo:
                _file_undo_dispatch(file_id=file.pk, task_id=task_id)
            raise
        _file_sent_record(file_id=file.pk, task_id=task_id)
        logger.info(
            "Sent file %s to System B as task %s", file.pk, task_id, extra={"event": "file.sent"}
        )


def _file_sent_record(*, file_id: int, task_id: str) -> None:
    """Record that the broker confirmed attempt ``task_id``'s message: its outbox entry is done.

    Guarded by the attempt: a relay and the original sender racing both publish (B runs the
    attempt twice at worst, and A applies its outcome once), and either records it. For the
    same reason the record need not survive a crash of the database: on PostgreSQL its commit
    does not wait for the disk (``synchronous_commit`` off, set in the statement itself for its
    own transaction), which saves a disk flush on the path of every file without a round trip
    more. A record lost that way leaves the attempt unsent in the outbox, and the relay sends
    it again. https://www.postgresql.org/docs/current/wal-async-commit.html
    """
    file_update(
        where={"pk": file_id, "task_id": task_id, "sent_at": None},
        values={"sent_at": timezone.now()},
        flush=False,
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
            _event_of(
                file_id=file_id,
                kind=FileEvent.Kind.SEND_FAILED,
                task_id=task_id,
                from_status=File.Status.PROCESSING,
                to_status=File.Status.PENDING,
                detail="The broker did not take the message; the sweeper sends it again.",
            ).save(force_insert=True)
    if not updated:
        logger.warning("File %s moved on before its failed dispatch could be undone", file_id)


@dataclass
class RelayReport:
    resent: list[int]
    """Claimed attempts whose message was never confirmed (the sender died): sent now."""
    sent: list[int]
    """PENDING files (a send failed, or a retry): claimed and sent now."""


def file_relay(*, now: datetime, unsent_after: timedelta, limit: int = 500) -> RelayReport:
    """The outbox relay: send every attempt that should be on the wire and is not.

    * A PROCESSING file with no ``sent_at`` claimed more than ``unsent_after`` ago: the process
      that claimed it died (or lost its database) between the commit and the broker's confirm.
      Its message is sent now with the attempt's own task id, so whatever B and A's callbacks
      already did with an earlier copy still belongs to this attempt, and the guarded services
      apply its outcome once.
    * A PENDING file: its send failed (the broker was down) or it is waiting for a new
      attempt. It is claimed and sent.

    After the first failed publish the rest wait for the next run: the broker is likely down,
    and each would only wait out the same connection timeout.
    """
    report = RelayReport(resent=[], sent=[])
    unsent = file_ids_free(
        limit=limit,
        status=File.Status.PROCESSING,
        sent_at__isnull=True,
        dispatched_at__lt=now - unsent_after,
    )
    try:
        for file in File.objects.filter(pk__in=unsent).order_by("pk"):
            logger.warning(
                "Relay: file %s was claimed as task %s but never sent; sending it",
                file.pk,
                file.task_id,
            )
            _file_send(file=file, task_id=file.task_id, attempt=file.attempts, undo=False)
            report.resent.append(file.pk)
        for file_id in file_ids_free(limit=limit, status=File.Status.PENDING):
            if file_dispatch(file_id=file_id).applied:
                report.sent.append(file_id)
    except Exception:  # noqa: BLE001 - logged by _file_send; the next run sends the rest
        logger.warning("Relay: sending stopped after a failure; the rest wait for the next run")
    if report.resent or report.sent:
        logger.info("Relay: resent %s, sent %s", len(report.resent), len(report.sent))
    return report


def file_dispatch_on_commit(*, file_id: int) -> None:
    """Dispatch after the surrounding transaction commits; a broker outage is logged, not raised."""

    def send() -> None:
        # Already logged by file_dispatch; the file is PENDING and the relay will send it.
        with contextlib.suppress(Exception):
            file_dispatch(file_id=file_id)

    transaction.on_commit(send)


FOREIGN_RESULT_MESSAGE = "Processing returned a result that does not belong to this file."


def result_problem(*, storage_key: str, result: ProcessingResult) -> str | None:
    """Why B's ``result`` cannot be this file's (whose upload is at ``storage_key``), or None.

    A trusts nothing in a result that it can check against its own records: the result must
    name the file's own upload, and its output, if any, must be where B writes that upload's
    output (``shared_schema.keys``). Anything else (a result naming another user's upload, an
    output key pointing anywhere) would make A serve a path B chose.
    """
    if result.storage_key != storage_key:
        return f"it names the upload {result.storage_key!r}, not {storage_key!r}"
    expected = output_key_of(storage_key)
    if result.output_key is not None and result.output_key != expected:
        return f"its output key is {result.output_key!r}, not {expected!r}"
    return None


class _ResultOfAnotherUpload(Exception):
    """The current attempt's UPDATE did not apply only because B's result names another
    upload than the file's, ``storage_key``."""

    def __init__(self, storage_key: str) -> None:
        super().__init__(storage_key)
        self.storage_key = storage_key


def file_mark_succeeded(*, file_id: int, task_id: str, result: ProcessingResult) -> Transition:
    """PROCESSING -> SUCCESS with B's ``result``, once it is checked to be this file's.

    A result that is not (``result_problem``) is refused: logged as an error, and the attempt
    is marked FAILED with INTERNAL_ERROR instead; the returned transition is that one.

    The check needs no read of its own: the output key is checked against the upload the
    result names, and that this upload is the file's, by the guarded UPDATE itself (the
    storage key is in its WHERE clause). Only a result the UPDATE did not take is looked at
    further.
    """
    problem = result_problem(storage_key=result.storage_key, result=result)
    if problem is None:
        try:
            outcome = _file_finish(
                file_id=file_id,
                task_id=task_id,
                status=File.Status.SUCCESS,
                result=result.model_dump(mode="json"),
                detail=f"{result.rows:,} {'row' if result.rows == 1 else 'rows'}",
                storage_key=result.storage_key,
            )
        except _ResultOfAnotherUpload as found:
            problem = result_problem(storage_key=found.storage_key, result=result)
        else:
            if outcome.applied:
                logger.info(
                    "File %s processed: %s rows (task %s)",
                    file_id,
                    result.rows,
                    task_id,
                    extra={"event": "file.succeeded", "file_id": file_id, "task_id": task_id},
                )
            return outcome
    logger.error("File %s: refused System B's result for task %s: %s", file_id, task_id, problem)
    return file_mark_failed(
        file_id=file_id,
        task_id=task_id,
        code=ErrorCode.INTERNAL_ERROR,
        message=FOREIGN_RESULT_MESSAGE,
    )


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
    storage_key: str | None = None,
) -> Transition:
    """PROCESSING -> ``status``, for the current attempt only: the one guard both outcomes share.

    One guarded UPDATE, not a locking read and a save: the state and the attempt's task id are
    in the WHERE clause, which PostgreSQL re-checks on the row it locks, so a duplicate or a
    racing callback updates nothing. The history row is written by the same statement
    (``statements.file_transition``). Only when nothing changed is the row read, to say what
    was found.

    ``storage_key``: change the file only if its upload is this one; raises
    ``_ResultOfAnotherUpload`` when that alone kept the current attempt from changing.
    """
    now = timezone.now()
    kind = FileEvent.Kind.SUCCEEDED if status == File.Status.SUCCESS else FileEvent.Kind.FAILED
    guard: dict[str, Any] = {"pk": file_id, "status": File.Status.PROCESSING, "task_id": task_id}
    if storage_key is not None:
        guard["storage_key"] = storage_key
    # A sweep applying an outcome whose callback was lost does so in the file's trace.
    with file_span("file.finish", file_id=file_id, task_id=task_id):
        changed = file_transition(
            where=guard,
            values={
                "status": status,
                "result": result,
                "error_code": error_code,
                "error_message": error_message,
                "finished_at": now,
                "updated_at": now,
            },
            event=_event_of(
                file_id=file_id,
                kind=kind,
                task_id=task_id,
                from_status=File.Status.PROCESSING,
                to_status=status,
                detail=detail,
                source=FileEvent.Source.CALLBACK,
            ),
        )
        if changed is not None:
            return Transition(applied=True, found=File.Status.PROCESSING)
        with transaction.atomic():
            file = File.objects.get(pk=file_id)
            current = file.status == File.Status.PROCESSING and file.task_id == task_id
            if current and storage_key is not None and file.storage_key != storage_key:
                raise _ResultOfAnotherUpload(file.storage_key)
            _is_current_attempt(file, task_id=task_id, action=f"mark {status.label.lower()}")
            _event_of(
                file_id=file_id,
                kind=FileEvent.Kind.IGNORED,
                task_id=task_id,
                from_status=file.status,
                to_status=file.status,
                detail=f"{kind.label} outcome for an attempt that is not current"
                f" (current task: {file.task_id or 'none'}): {detail}",
                source=FileEvent.Source.CALLBACK,
            ).save(force_insert=True)
        return Transition(applied=False, found=File.Status(file.status))


def file_retry(*, file_id: int) -> Transition:
    """Start a new attempt for a FAILED file; late callbacks of the old attempt are ignored."""
    with transaction.atomic():
        file = File.objects.select_for_update().get(pk=file_id)
        if file.status != File.Status.FAILED:
            logger.info("Not retrying file %s: it is %s, not FAILED", file_id, file.status)
            return Transition(applied=False, found=File.Status(file.status))
        _event_of(
            file_id=file_id,
            kind=FileEvent.Kind.RETRY_REQUESTED,
            task_id=file.task_id,
            from_status=File.Status.FAILED,
            to_status=File.Status.PENDING,
            detail=f"after {file.error_code}",
        ).save(force_insert=True)
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


def file_new_attempt(
    *, file_id: int, task_id: str, code: ErrorCode, message: str, max_attempts: int
) -> Transition:
    """Replace the PROCESSING attempt ``task_id``, which ended without a verdict on the file
    (``code`` says why), by a new one; after ``max_attempts`` attempts, fail the file instead.

    The new attempt is claimed in the same guarded UPDATE that abandons the old one (new task
    id, so a late callback of the old one is ignored) and sent once that commits: the claim is
    the outbox entry, as for any dispatch.
    """
    file = File.objects.get(pk=file_id)
    if file.attempts >= max_attempts:
        logger.warning(
            "File %s: attempt %s of %s ended with %s; no attempts left",
            file_id,
            file.attempts,
            max_attempts,
            code.value,
        )
        return file_mark_failed(file_id=file_id, task_id=task_id, code=code, message=message)
    new_task_id = str(uuid.uuid4())
    now = timezone.now()
    with transaction.atomic():
        claimed = File.objects.filter(
            pk=file_id, status=File.Status.PROCESSING, task_id=task_id
        ).update(
            task_id=new_task_id,
            attempts=F("attempts") + 1,
            dispatched_at=now,
            sent_at=None,
            updated_at=now,
        )
        if not claimed:
            file.refresh_from_db()
            _is_current_attempt(file, task_id=task_id, action="start a new attempt of")
            return Transition(applied=False, found=File.Status(file.status))
        _event_of(
            file_id=file_id,
            kind=FileEvent.Kind.ABANDONED,
            task_id=task_id,
            from_status=File.Status.PROCESSING,
            to_status=File.Status.PROCESSING,
            detail=f"{code.value}: {message} A new attempt follows.",
            source=FileEvent.Source.CALLBACK,
        ).save(force_insert=True)
        _event_of(
            file_id=file_id,
            kind=FileEvent.Kind.SENT,
            task_id=new_task_id,
            from_status=File.Status.PROCESSING,
            to_status=File.Status.PROCESSING,
            detail=f"attempt {file.attempts + 1}",
            source=FileEvent.Source.CALLBACK,
        ).save(force_insert=True)
        attempt = file.attempts + 1
        transaction.on_commit(
            lambda: _file_send_on_commit(file=file, task_id=new_task_id, attempt=attempt)
        )
    logger.warning(
        "File %s: attempt %s (task %s) ended with %s, not a verdict on the file; "
        "sending attempt %s as task %s",
        file_id,
        file.attempts,
        task_id,
        code.value,
        file.attempts + 1,
        new_task_id,
    )
    return Transition(applied=True, found=File.Status.PROCESSING)


class Applied(StrEnum):
    """What applying one of B's outcomes did to the file."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    RETRIED = "retried"
    """The run failed, not the file: a new attempt was sent."""
    WAITING = "waiting"
    """The outcome is the wire's, not the file's: the redelivered run or the sweeper decides."""
    IGNORED = "ignored"
    """Not the file's current attempt, or the file already finished."""


def file_apply_outcome(
    *,
    file_id: int,
    task_id: str,
    succeeded: bool,
    value: Any,
    max_attempts: int | None = None,
) -> Applied:
    """Apply what B reported for attempt ``task_id``: the one place that reads B's outcome.

    Both A's callbacks (the success link's argument, the exception the errback reads from the
    result backend) and the sweeper (the stored outcome whose callback was lost) call this.
    ``value`` is B's return value when ``succeeded``, else the rebuilt exception (``None`` when
    the result backend has no reason).

    * A result outside the contract: FAILED ``internal_error``.
    * A failure of the wire (broker or backend gone while B published), or a failure with no
      stored reason: not the file's outcome; left PROCESSING for the redelivered run's
      callback or the sweeper.
    * A failure of the run (``shared_schema.errors.INFRASTRUCTURE_CODES``, e.g. the message
      reached its delivery limit): a new attempt, up to ``max_attempts``; then FAILED with it.
    * Any other failure: FAILED with its code and message, which the user can act on.
    """
    if succeeded:
        try:
            summary = ProcessingResult.model_validate(value)
        except ValidationError as exc:
            logger.error(
                "File %s: System B returned a result outside the contract: %s", file_id, exc
            )
            transition = file_mark_failed(
                file_id=file_id,
                task_id=task_id,
                code=ErrorCode.INTERNAL_ERROR,
                message="Processing returned a result that could not be read.",
            )
            return Applied.FAILED if transition.applied else Applied.IGNORED
        transition = file_mark_succeeded(file_id=file_id, task_id=task_id, result=summary)
        return Applied.SUCCEEDED if transition.applied else Applied.IGNORED
    reason = value if isinstance(value, BaseException) else None
    if failure_is_wire_error(reason):
        logger.warning(
            "File %s: task %s recorded a broker/backend error (%r), not a processing failure; "
            "leaving the file PROCESSING for the redelivered run or the sweeper",
            file_id,
            task_id,
            reason,
        )
        return Applied.WAITING
    if reason is None:
        # An errback, but no failure stored for the task (not yet rewritten by a redelivered
        # run, expired, or never written): no verdict on the file. The redelivered run's
        # callback, or the sweeper at the deadline, decides.
        logger.warning(
            "File %s: task %s reported a failure the result backend does not hold; "
            "leaving the file PROCESSING for the sweeper",
            file_id,
            task_id,
        )
        return Applied.WAITING
    code, message = failure_describe(reason)
    if code in INFRASTRUCTURE_CODES:
        limit = settings.MAX_ATTEMPTS if max_attempts is None else max_attempts
        transition = file_new_attempt(
            file_id=file_id, task_id=task_id, code=code, message=message, max_attempts=limit
        )
        if not transition.applied:
            return Applied.IGNORED
        status = File.objects.values_list("status", flat=True).get(pk=file_id)
        return Applied.FAILED if status == File.Status.FAILED else Applied.RETRIED
    transition = file_mark_failed(file_id=file_id, task_id=task_id, code=code, message=message)
    return Applied.FAILED if transition.applied else Applied.IGNORED


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
    # The output key came from B's result: the store refuses a key outside it. The record is
    # already gone, so a store that fails leaves the bytes behind, logged, and the user's
    # delete stands.
    for key in keys:
        try:
            storage_delete(key=key)
        except StorageKeyOutsideRoot:
            logger.warning("Not deleting %r: it is outside the store", key)
        except STORAGE_FAULTS:
            logger.warning(
                "Could not delete %r from the store; it stays, referenced by nothing",
                key,
                exc_info=True,
                extra={"event": "storage.orphaned"},
            )
