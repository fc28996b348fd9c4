from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from shared_schema.errors import ERROR_HINTS, ErrorCode


class File(models.Model):
    """An upload, and where its processing by System B stands.

    ``task_id`` belongs to the current attempt. Callbacks carry the task id they were issued
    for, and a transition applies only when it matches: a late callback of an earlier attempt
    changes nothing.
    """

    class Status(models.TextChoices):
        PENDING = "PENDING", "Pending"
        """Stored, not yet sent to System B."""
        PROCESSING = "PROCESSING", "Processing"
        """Sent; System B has it (queued or running)."""
        SUCCESS = "SUCCESS", "Processed"
        FAILED = "FAILED", "Failed"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="files",
        # Nullable so rows uploaded before accounts existed stay valid; they belong to no one
        # and are visible only in the admin.
        null=True,
        blank=True,
    )
    original_name = models.CharField(max_length=255)
    storage_key = models.CharField(max_length=1024)  # unique: Meta.constraints
    size_bytes = models.PositiveBigIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    task_id = models.CharField(max_length=64, blank=True, default="")
    attempts = models.PositiveIntegerField(default=0)
    result = models.JSONField(null=True, blank=True, help_text="System B's summary on success.")
    error_code = models.CharField(
        max_length=64, blank=True, default="", choices=[(c.value, c.value) for c in ErrorCode]
    )
    error_message = models.TextField(blank=True, default="")
    # A default rather than auto_now_add, so an upload's creation and first send carry the one
    # timestamp the service took (auto_now_add would stamp a later one at insert).
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    """When the current attempt was claimed; its message is sent once that commits."""
    sent_at = models.DateTimeField(null=True, blank=True)
    """When the broker confirmed the current attempt's message. Empty on a PROCESSING file, the
    attempt is claimed but its message may not exist (the sender died after the commit): the
    outbox relay sends it (services.file_relay)."""
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(status="PROCESSING") | ~models.Q(task_id=""),
                name="file_processing_has_task_id",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="FAILED") | ~models.Q(error_code=""),
                name="file_failed_has_error_code",
            ),
            models.UniqueConstraint(fields=["storage_key"], name="file_storage_key_unique"),
        ]
        # Plain indexes, declared here rather than with unique=True / db_index=True on the
        # fields: on PostgreSQL those add a second, varchar_pattern_ops index per text column,
        # for LIKE queries nothing makes, and every index is written by every change of a row.
        indexes = [
            models.Index(fields=["status"], name="file_status"),
            models.Index(fields=["task_id"], name="file_task_id"),
            # The outbox: the relay looks for claimed attempts whose message is not confirmed.
            models.Index(
                fields=["dispatched_at"],
                name="file_unsent_claims",
                condition=models.Q(status="PROCESSING", sent_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.status})"

    @property
    def error_hint(self) -> str:
        """What the user can do about the failure, in plain language."""
        try:
            return ERROR_HINTS[ErrorCode(self.error_code)]
        except ValueError:
            return ""

    @property
    def retry_helps(self) -> bool:
        """A FAILED file whose error is the system's, not the file's: another attempt may work."""
        if self.status != File.Status.FAILED:
            return False
        try:
            return ErrorCode(self.error_code).retry_helps
        except ValueError:
            return False

    @property
    def retrying(self) -> bool:
        """A new attempt after a failure is waiting or under way (a retry keeps ``attempts``
        until it is sent, so a PENDING file with attempts behind it is a retry)."""
        if self.status == File.Status.PENDING:
            return self.attempts >= 1
        return self.status == File.Status.PROCESSING and self.attempts > 1

    @property
    def summary(self) -> dict[str, Any]:
        return self.result or {}

    @property
    def output_key(self) -> str:
        """Where System B wrote the normalized output; empty when it wrote none."""
        return str(self.summary.get("output_key") or "")


class FileEvent(models.Model):
    """One thing that happened to a file: its history, written by the transition services.

    Rows are written in the same transaction as the change they record (``services._event``),
    including what changed nothing: a late or duplicate callback, a failed send.
    """

    class Kind(models.TextChoices):
        UPLOADED = "uploaded", "Uploaded"
        SENT = "sent", "Sent to System B"
        SEND_FAILED = "send_failed", "Could not be sent"
        SUCCEEDED = "succeeded", "Processed"
        FAILED = "failed", "Failed"
        RETRY_REQUESTED = "retry_requested", "Retry requested"
        ABANDONED = "abandoned", "Attempt given up"
        IGNORED = "ignored", "Late or duplicate outcome ignored"

    class Source(models.TextChoices):
        USER = "user", "User"
        CALLBACK = "callback", "Callback"
        SWEEPER = "sweeper", "Sweeper"

    # Indexed by Meta.indexes' (file, at), which serves lookups by file alone as well.
    file = models.ForeignKey(File, on_delete=models.CASCADE, related_name="events", db_index=False)
    task_id = models.CharField(
        max_length=64, blank=True, default="", help_text="The attempt the event belongs to."
    )
    kind = models.CharField(max_length=32, choices=Kind.choices)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.USER)
    from_status = models.CharField(max_length=16, blank=True, default="")
    to_status = models.CharField(max_length=16, blank=True, default="")
    at = models.DateTimeField(default=timezone.now)
    detail = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["file", "at"])]

    def __str__(self) -> str:
        return f"{self.file_id} {self.kind} {self.at:%Y-%m-%d %H:%M:%S}"
