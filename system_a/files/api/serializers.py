"""What the API shows of a file, and what it accepts as an upload."""

from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from files import selectors
from files.models import File, FileEvent
from shared_schema.payloads import ColumnType, FileFormat


class UploadSerializer(serializers.Serializer):  # type: ignore[type-arg]
    file = serializers.FileField(help_text="CSV, TSV or JSON Lines with a header row.")


class ProgressSerializer(serializers.Serializer):  # type: ignore[type-arg]
    state = serializers.CharField(help_text="Celery's state for the current attempt.")
    # Declared fields are taken off the class by DRF's metaclass, so this does not shadow
    # Field.label at run time; the stubs cannot know that.
    label = serializers.CharField(  # type: ignore[assignment]
        help_text="The state in words: queued, running, 45% ..."
    )
    percent = serializers.IntegerField(allow_null=True)
    rows = serializers.IntegerField(allow_null=True, help_text="Rows read so far.")


class ColumnSerializer(serializers.Serializer):  # type: ignore[type-arg]
    name = serializers.CharField()
    type = serializers.ChoiceField(choices=[t.value for t in ColumnType])
    nulls = serializers.IntegerField(help_text="Empty cells (CSV, TSV); null or absent (JSONL).")
    min = serializers.FloatField(allow_null=True, help_text="Smallest value, numeric columns.")
    max = serializers.FloatField(allow_null=True, help_text="Largest value, numeric columns.")


class SummarySerializer(serializers.Serializer):  # type: ignore[type-arg]
    """Everything System B's ProcessingResult carries, less its storage keys."""

    format = serializers.ChoiceField(choices=[f.value for f in FileFormat])
    rows = serializers.IntegerField(help_text="Data rows, not counting the header.")
    columns = ColumnSerializer(many=True)
    sample_rows = serializers.ListField(
        child=serializers.ListField(child=serializers.CharField(allow_null=True)),
        help_text="The first rows as B read them, in column order.",
    )
    size_bytes = serializers.IntegerField(help_text="Bytes B read (before decompression).")
    sha256 = serializers.CharField()
    encoding = serializers.CharField(allow_null=True)
    delimiter = serializers.CharField(allow_null=True, help_text="CSV and TSV only.")
    compression = serializers.CharField(allow_null=True, help_text='"gzip", or null.')
    output_format = serializers.ChoiceField(choices=[f.value for f in FileFormat], allow_null=True)
    started_at = serializers.DateTimeField(allow_null=True, help_text="B's worker began.")
    finished_at = serializers.DateTimeField(allow_null=True, help_text="B's worker finished.")
    has_output = serializers.BooleanField(
        help_text="Whether a normalized output can be downloaded."
    )


class ErrorSerializer(serializers.Serializer):  # type: ignore[type-arg]
    code = serializers.CharField(help_text="The error code from the shared contract.")
    message = serializers.CharField(help_text="What was wrong, e.g. the line.")
    hint = serializers.CharField(help_text="What to do about it, in plain language.")
    retry_helps = serializers.BooleanField(
        help_text="True for a fault of the system (retry); false for the file's own errors "
        "(upload a fixed file)."
    )


class EventSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    class Meta:
        model = FileEvent
        fields = ["at", "kind", "source", "task_id", "from_status", "to_status", "detail"]
        read_only_fields = fields


class AttemptSerializer(serializers.Serializer):  # type: ignore[type-arg]
    number = serializers.IntegerField()
    task_id = serializers.CharField()
    sent_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    outcome = serializers.CharField(
        help_text="succeeded, failed, abandoned, send_failed; empty while the attempt is open."
    )
    detail = serializers.CharField()
    seconds = serializers.SerializerMethodField(help_text="Sent to finished, as A saw it.")

    def get_seconds(self, attempt: selectors.Attempt) -> float | None:
        return attempt.took.total_seconds() if attempt.took is not None else None


class FileSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    name = serializers.CharField(source="original_name")
    retrying = serializers.BooleanField(
        read_only=True, help_text="A new attempt after a failure is waiting or running."
    )
    progress = serializers.SerializerMethodField()
    summary = serializers.SerializerMethodField()
    error = serializers.SerializerMethodField()
    links = serializers.SerializerMethodField()

    class Meta:
        model = File
        fields = [
            "id",
            "name",
            "size_bytes",
            "status",
            "retrying",
            "attempts",
            "created_at",
            "dispatched_at",
            "finished_at",
            "progress",
            "summary",
            "error",
            "links",
        ]
        read_only_fields = fields

    @extend_schema_field(ProgressSerializer(allow_null=True))
    def get_progress(self, file: File) -> dict[str, Any] | None:
        activity = selectors.file_activity(file=file)
        if activity is None:
            return None
        return {
            "state": activity.state,
            "label": activity.label,
            "percent": activity.percent,
            "rows": activity.progress.rows if activity.progress is not None else None,
        }

    @extend_schema_field(SummarySerializer(allow_null=True))
    def get_summary(self, file: File) -> dict[str, Any] | None:
        if file.status != File.Status.SUCCESS or not file.result:
            return None
        result = file.result
        return {
            "format": result.get("format"),
            "rows": result.get("rows"),
            "columns": [
                {
                    "name": column.get("name"),
                    "type": column.get("type", ColumnType.STRING.value),
                    "nulls": column.get("nulls", 0),
                    "min": column.get("min"),
                    "max": column.get("max"),
                }
                for column in result.get("columns", [])
            ],
            "sample_rows": result.get("sample_rows") or [],
            "size_bytes": result.get("size_bytes", file.size_bytes),
            "sha256": result.get("sha256"),
            "encoding": result.get("encoding"),
            "delimiter": result.get("delimiter"),
            "compression": result.get("compression"),
            "output_format": result.get("output_format"),
            "started_at": result.get("started_at"),
            "finished_at": result.get("finished_at"),
            "has_output": bool(file.output_key),
        }

    @extend_schema_field(ErrorSerializer(allow_null=True))
    def get_error(self, file: File) -> dict[str, str | bool] | None:
        if file.status != File.Status.FAILED:
            return None
        return {
            "code": file.error_code,
            "message": file.error_message,
            "hint": file.error_hint,
            "retry_helps": file.retry_helps,
        }

    @extend_schema_field(
        serializers.DictField(
            child=serializers.CharField(),
            help_text="Addresses of this file's detail, retry and download.",
        )
    )
    def get_links(self, file: File) -> dict[str, str]:
        request = self.context.get("request")
        links = {}
        for action in ("detail", "retry", "download"):
            url = reverse(f"api:file-{action}", args=[file.pk])
            links[action] = request.build_absolute_uri(url) if request is not None else url
        return links


class FileDetailSerializer(FileSerializer):
    """One file, complete: its attempts and its history as well."""

    attempt_list = serializers.SerializerMethodField()
    history = serializers.SerializerMethodField()

    class Meta(FileSerializer.Meta):
        fields = [*FileSerializer.Meta.fields, "attempt_list", "history"]
        read_only_fields = fields

    @extend_schema_field(AttemptSerializer(many=True))
    def get_attempt_list(self, file: File) -> list[dict[str, Any]]:
        events = self._events(file)
        attempts = selectors.file_attempts(file=file, events=events)
        return list(AttemptSerializer(attempts, many=True).data)

    @extend_schema_field(EventSerializer(many=True))
    def get_history(self, file: File) -> list[dict[str, Any]]:
        return list(EventSerializer(self._events(file), many=True).data)

    def _events(self, file: File) -> list[FileEvent]:
        cache: dict[int, list[FileEvent]] = self.context.setdefault("_events", {})
        if file.pk not in cache:
            cache[file.pk] = selectors.file_events(file=file)
        return cache[file.pk]
