"""What the API shows of a file, and what it accepts as an upload."""

from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from files import selectors
from files.models import File
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
    nulls = serializers.IntegerField()


class SummarySerializer(serializers.Serializer):  # type: ignore[type-arg]
    format = serializers.ChoiceField(choices=[f.value for f in FileFormat])
    rows = serializers.IntegerField(help_text="Data rows, not counting the header.")
    columns = ColumnSerializer(many=True)
    sha256 = serializers.CharField()
    has_output = serializers.BooleanField(
        help_text="Whether a normalized output can be downloaded."
    )


class ErrorSerializer(serializers.Serializer):  # type: ignore[type-arg]
    code = serializers.CharField(help_text="The error code from the shared contract.")
    message = serializers.CharField(help_text="What was wrong, e.g. the line.")
    hint = serializers.CharField(help_text="What to do about it, in plain language.")


class FileSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    name = serializers.CharField(source="original_name")
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
                }
                for column in result.get("columns", [])
            ],
            "sha256": result.get("sha256"),
            "has_output": bool(file.output_key),
        }

    @extend_schema_field(ErrorSerializer(allow_null=True))
    def get_error(self, file: File) -> dict[str, str] | None:
        if file.status != File.Status.FAILED:
            return None
        return {"code": file.error_code, "message": file.error_message, "hint": file.error_hint}

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
