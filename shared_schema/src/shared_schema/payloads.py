"""Payload models that cross the wire, as JSON.

Rules that keep two independently deployed code bases compatible:

* models are frozen: a payload is a value, not a record to mutate;
* they grow only by adding *optional* fields, and receivers ignore fields they do not know
  (``extra="ignore"``), so a newer sender never breaks an older receiver;
* a breaking change bumps ``SCHEMA_VERSION``; receivers refuse versions they do not support;
* senders dump with ``model_dump(mode="json")`` so only JSON types ever reach the serializer.
"""

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Final

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

SCHEMA_VERSION: Final = 1
"""The payload schema version this code speaks. Bumped only for a breaking change."""

SUPPORTED_SCHEMA_VERSIONS: Final = frozenset({1})

StorageKey = Annotated[str, StringConstraints(min_length=1, max_length=1024)]
"""A path relative to the shared storage root. Receivers still check it stays inside the root."""

Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class _Payload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class FileFormat(StrEnum):
    CSV = "csv"
    TSV = "tsv"
    JSONL = "jsonl"


class ColumnType(StrEnum):
    INTEGER = "integer"
    FLOAT = "float"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"
    STRING = "string"
    EMPTY = "empty"
    """Every value in the column is null."""


class ProcessingRequest(_Payload):
    """What System A asks System B to process."""

    schema_version: int = SCHEMA_VERSION
    file_id: str = Field(
        description="System A's reference for the file; opaque to B, used in logs."
    )
    storage_key: StorageKey
    original_name: str | None = Field(default=None, max_length=255)


class ColumnSummary(_Payload):
    name: str
    type: ColumnType = ColumnType.STRING
    nulls: int = Field(
        default=0, ge=0, description="Empty cells (CSV, TSV); null or absent (JSONL)."
    )
    min: float | None = Field(default=None, description="Smallest value of a numeric column.")
    max: float | None = Field(default=None, description="Largest value of a numeric column.")


class ProcessingResult(_Payload):
    """What System B returns when processing succeeds; the success callback's first argument."""

    schema_version: int = SCHEMA_VERSION
    storage_key: StorageKey
    sha256: Sha256
    size_bytes: int = Field(ge=0)
    format: FileFormat
    rows: int = Field(ge=0, description="Data rows, not counting the header.")
    columns: tuple[ColumnSummary, ...]
    output_key: StorageKey | None = Field(
        default=None, description="Where B wrote the normalized output, if it wrote one."
    )
    sample_rows: tuple[tuple[str | None, ...], ...] = ()
    encoding: str | None = Field(
        default=None, description='The text encoding B read: "utf-8" or "utf-8-sig" (with BOM).'
    )
    compression: str | None = Field(
        default=None, description='"gzip" when the stored file was gzip-compressed.'
    )
    delimiter: str | None = Field(
        default=None, description="The field delimiter B detected (CSV and TSV only)."
    )
    output_format: FileFormat | None = Field(
        default=None, description="The format of the normalized output at output_key."
    )
    started_at: datetime | None = Field(
        default=None, description="When B's worker began this attempt (UTC)."
    )
    finished_at: datetime | None = Field(
        default=None, description="When B's worker finished this attempt (UTC)."
    )


class ProcessingProgress(_Payload):
    """Custom ``PROGRESS`` state meta B reports with ``update_state`` while it works."""

    bytes_read: int = Field(ge=0)
    bytes_total: int = Field(ge=0)
    rows: int = Field(ge=0)

    @property
    def percent(self) -> int:
        if self.bytes_total == 0:
            return 100
        return min(100, self.bytes_read * 100 // self.bytes_total)


PROGRESS_STATE: Final = "PROGRESS"
"""The custom task state name B uses for progress updates."""
