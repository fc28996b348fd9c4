"""What A stores and shows for a failure of B's, from the contract's reading of it
(``shared_schema.outcomes``: the same for every caller). No Celery here."""

from shared_schema.errors import ErrorCode, ProcessingError
from shared_schema.outcomes import INTERNAL_ERROR_MESSAGE, failure_classify, failure_is_wire_error

__all__ = ["INTERNAL_ERROR_MESSAGE", "failure_describe", "failure_is_wire_error"]


def failure_describe(failure: BaseException | None) -> tuple[ErrorCode, str]:
    """The error code and the message A stores (and shows the user) for a failure of B's:
    the contract's own, or INTERNAL_ERROR with a message free of B's internals."""
    error = failure if isinstance(failure, ProcessingError) else failure_classify(failure)
    if not isinstance(error, ProcessingError):  # a wire error: callers check for it first
        error = ProcessingError(INTERNAL_ERROR_MESSAGE)
    return error.code, error.message
