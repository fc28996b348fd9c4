"""The contract between System B and its callers (System A, or any other).

Everything B and a caller must agree on lives here and nowhere else: task and queue names, the
payload models that cross the wire, and the error codes and exception classes B raises and the
caller reconstructs. This package imports neither Django nor Celery, so any system can depend
on it without pulling in another's framework; the wire layer every system shares
(``shared_schema.wire``) needs the ``celery`` extra.
"""

from shared_schema.errors import ERROR_HINTS, ErrorCode, ProcessingError, error_class_for
from shared_schema.names import PROCESS_TASK, QUEUE_SYSTEM_A, QUEUE_SYSTEM_B
from shared_schema.payloads import (
    PROGRESS_STATE,
    SCHEMA_VERSION,
    ColumnSummary,
    ColumnType,
    FileFormat,
    ProcessingProgress,
    ProcessingRequest,
    ProcessingResult,
)

__all__ = [
    "ERROR_HINTS",
    "PROCESS_TASK",
    "PROGRESS_STATE",
    "QUEUE_SYSTEM_A",
    "QUEUE_SYSTEM_B",
    "SCHEMA_VERSION",
    "ColumnSummary",
    "ColumnType",
    "ErrorCode",
    "FileFormat",
    "ProcessingError",
    "ProcessingProgress",
    "ProcessingRequest",
    "ProcessingResult",
    "error_class_for",
]
