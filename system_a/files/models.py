from typing import Any

from django.conf import settings
from django.db import models

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
    storage_key = models.CharField(max_length=1024, unique=True)
    size_bytes = models.PositiveBigIntegerField()
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    task_id = models.CharField(max_length=64, blank=True, default="", db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    result = models.JSONField(null=True, blank=True, help_text="System B's summary on success.")
    error_code = models.CharField(
        max_length=64, blank=True, default="", choices=[(c.value, c.value) for c in ErrorCode]
    )
    error_message = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
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
        ]
        indexes = [
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
    def summary(self) -> dict[str, Any]:
        return self.result or {}

    @property
    def output_key(self) -> str:
        """Where System B wrote the normalized output; empty when it wrote none."""
        return str(self.summary.get("output_key") or "")
