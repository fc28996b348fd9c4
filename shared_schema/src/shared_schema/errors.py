"""Error codes and the exception classes System B raises.

The classes live here, not in B, for a reason specific to Celery: a failed task's exception is
stored in the result backend as ``{"exc_type", "exc_module", "exc_message"}`` and rebuilt on the
reader's side only if ``exc_module`` is already imported there
(``celery.backends.base.Backend.exception_to_python``). An exception defined only in B arrives on
A as a synthetic class with no code. Defined here, it arrives as itself.

Rebuilding calls ``cls(*exc.args)``, so every class takes exactly one positional argument, the
message, and keeps its code as a class attribute.
"""

from enum import StrEnum
from typing import ClassVar, Final


class ErrorCode(StrEnum):
    # The file itself: the user fixes the file and uploads it again.
    EMPTY_FILE = "empty_file"
    NO_HEADER = "no_header"
    UNDECODABLE_TEXT = "undecodable_text"
    BINARY_FILE = "binary_file"
    UNSUPPORTED_FORMAT = "unsupported_format"
    INCONSISTENT_ROWS = "inconsistent_rows"
    UNTERMINATED_QUOTE = "unterminated_quote"
    INVALID_JSON_LINE = "invalid_json_line"
    FILE_TOO_LARGE = "file_too_large"
    TOO_MANY_COLUMNS = "too_many_columns"
    INVALID_HEADER = "invalid_header"
    """A header cell is blank, or names a column another cell already names."""
    # The request: a bug or a version mismatch between A and B; retrying will not help
    # until an operator fixes it.
    INVALID_REQUEST = "invalid_request"
    UNSUPPORTED_SCHEMA_VERSION = "unsupported_schema_version"
    STORAGE_KEY_OUTSIDE_ROOT = "storage_key_outside_root"
    FILE_MISSING = "file_missing"
    # The run: nothing wrong with the file as far as anyone knows; retrying may help.
    PROCESSING_TIMEOUT = "processing_timeout"
    STORAGE_UNAVAILABLE = "storage_unavailable"
    NO_OUTCOME = "no_outcome"
    """Set by A: no result and no callback arrived before the deadline."""
    INTERNAL_ERROR = "internal_error"
    """Set by A: B failed with an exception that is not part of this contract."""

    @property
    def retry_helps(self) -> bool:
        """Whether sending the same stored file again may succeed.

        True for faults of the run (a time limit, storage, a lost outcome, an unexpected error);
        False for the file's own errors, where only a fixed upload helps, and for a faulty
        request, which fails the same way until an operator fixes A or B.
        """
        return self in _RETRY_HELPS


_RETRY_HELPS: Final = frozenset(
    {
        ErrorCode.PROCESSING_TIMEOUT,
        ErrorCode.STORAGE_UNAVAILABLE,
        ErrorCode.NO_OUTCOME,
        ErrorCode.INTERNAL_ERROR,
    }
)

ERROR_HINTS: Final[dict[ErrorCode, str]] = {
    ErrorCode.EMPTY_FILE: "The file has no content. Upload a file with a header row and data.",
    ErrorCode.NO_HEADER: "Add a header row naming each column, then upload the file again.",
    ErrorCode.UNDECODABLE_TEXT: "Save the file as UTF-8 text (most editors offer "
    "'CSV UTF-8' in Save As) and upload it again.",
    ErrorCode.BINARY_FILE: "This looks like a binary file (a spreadsheet or an archive?). "
    "Export it as CSV, TSV or JSON Lines and upload that.",
    ErrorCode.UNSUPPORTED_FORMAT: "Upload CSV, TSV or JSON Lines, optionally gzip-compressed.",
    ErrorCode.INCONSISTENT_ROWS: "Every row must have as many fields as the header. "
    "Fix the line named in the message and upload the file again.",
    ErrorCode.UNTERMINATED_QUOTE: "A quoted field is never closed. Fix the quote on the line "
    "named in the message and upload the file again.",
    ErrorCode.INVALID_JSON_LINE: "Each line must be one JSON object. Fix the line named in the "
    "message and upload the file again.",
    ErrorCode.FILE_TOO_LARGE: "Split the file into smaller parts and upload them separately.",
    ErrorCode.TOO_MANY_COLUMNS: "Remove columns you do not need, or split the table.",
    ErrorCode.INVALID_HEADER: "Give every column in the header row a name of its own (none "
    "blank, none repeated), then upload the file again.",
    ErrorCode.INVALID_REQUEST: "This is a fault on our side, not in your file. Retry later; "
    "if it persists, contact support.",
    ErrorCode.UNSUPPORTED_SCHEMA_VERSION: "This is a fault on our side, not in your file. "
    "Retry later; if it persists, contact support.",
    ErrorCode.STORAGE_KEY_OUTSIDE_ROOT: "This is a fault on our side, not in your file. "
    "Contact support.",
    ErrorCode.FILE_MISSING: "The stored upload could not be found. Upload the file again.",
    ErrorCode.PROCESSING_TIMEOUT: "Processing took too long. Retry, or split the file into "
    "smaller parts.",
    ErrorCode.STORAGE_UNAVAILABLE: "Storage was unavailable. Retry in a few minutes.",
    ErrorCode.NO_OUTCOME: "Processing did not report back in time. Retry.",
    ErrorCode.INTERNAL_ERROR: "Something went wrong on our side while processing the file. "
    "Retry; if it fails again, contact support.",
}


class ProcessingError(Exception):
    """Base of every error B raises on purpose. ``code`` says what went wrong, ``args[0]`` where."""

    code: ClassVar[ErrorCode] = ErrorCode.INTERNAL_ERROR
    retryable: ClassVar[bool] = False
    """True only for transient faults that the task itself retries with backoff."""

    def __init__(self, message: str) -> None:
        super().__init__(message)

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""

    @property
    def hint(self) -> str:
        return ERROR_HINTS[self.code]


class EmptyFile(ProcessingError):
    code = ErrorCode.EMPTY_FILE


class NoHeader(ProcessingError):
    code = ErrorCode.NO_HEADER


class UndecodableText(ProcessingError):
    code = ErrorCode.UNDECODABLE_TEXT


class BinaryFile(ProcessingError):
    code = ErrorCode.BINARY_FILE


class UnsupportedFormat(ProcessingError):
    code = ErrorCode.UNSUPPORTED_FORMAT


class InconsistentRows(ProcessingError):
    code = ErrorCode.INCONSISTENT_ROWS


class UnterminatedQuote(ProcessingError):
    code = ErrorCode.UNTERMINATED_QUOTE


class InvalidJsonLine(ProcessingError):
    code = ErrorCode.INVALID_JSON_LINE


class FileTooLarge(ProcessingError):
    code = ErrorCode.FILE_TOO_LARGE


class TooManyColumns(ProcessingError):
    code = ErrorCode.TOO_MANY_COLUMNS


class InvalidHeader(ProcessingError):
    code = ErrorCode.INVALID_HEADER


class InvalidRequest(ProcessingError):
    code = ErrorCode.INVALID_REQUEST


class UnsupportedSchemaVersion(ProcessingError):
    code = ErrorCode.UNSUPPORTED_SCHEMA_VERSION


class StorageKeyOutsideRoot(ProcessingError):
    code = ErrorCode.STORAGE_KEY_OUTSIDE_ROOT


class FileMissing(ProcessingError):
    code = ErrorCode.FILE_MISSING


class ProcessingTimeout(ProcessingError):
    code = ErrorCode.PROCESSING_TIMEOUT


class StorageUnavailable(ProcessingError):
    code = ErrorCode.STORAGE_UNAVAILABLE
    retryable = True


def error_class_for(code: ErrorCode) -> type[ProcessingError]:
    """The exception class B raises for ``code`` (``ProcessingError`` for codes only A sets)."""
    for cls in ProcessingError.__subclasses__():
        if cls.code is code:
            return cls
    return ProcessingError
