"""What A stores and shows for a failure of B's, from the contract's reading of it
(``shared_schema.outcomes``: the same for every caller). No Celery here."""

import logging

from shared_schema.errors import ErrorCode, ProcessingError
from shared_schema.outcomes import INTERNAL_ERROR_MESSAGE, failure_classify, failure_is_wire_error

__all__ = ["INTERNAL_ERROR_MESSAGE", "failure_describe", "failure_is_wire_error"]

logger = logging.getLogger(__name__)


def failure_describe(failure: BaseException | None) -> tuple[ErrorCode, str]:
    """The error code and the message A stores (and shows the user) for a failure of B's:
    the contract's own, or INTERNAL_ERROR with a message free of B's internals (a bug in B, a
    killed worker, a class only B knows: the details go to the log, never to the user)."""
    error = failure_classify(failure)
    if not isinstance(failure, ProcessingError):
        logger.error("System B failed with an error outside the contract: %r", failure)
    if not isinstance(error, ProcessingError):  # a wire error: callers check for it first
        error = ProcessingError(INTERNAL_ERROR_MESSAGE)
    return error.code, error.message
