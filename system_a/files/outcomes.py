"""Turn what System B reported into something A can store and show a person. No Celery here."""

import logging

from shared_schema.errors import ErrorCode, ProcessingError

logger = logging.getLogger(__name__)

INTERNAL_ERROR_MESSAGE = "Processing failed unexpectedly."


def failure_describe(exc: BaseException | None) -> tuple[ErrorCode, str]:
    """The error code and user-facing message for the exception B's task failed with.

    Only errors from the shared contract carry a message meant for people. Anything else (a
    bug in B, a killed worker, a class only B knows) becomes INTERNAL_ERROR; its details go to
    the log for operators and never to the user, since they may carry B's paths and internals.
    """
    if isinstance(exc, ProcessingError):
        return exc.code, exc.message
    logger.error("System B failed with an error outside the contract: %r", exc)
    return ErrorCode.INTERNAL_ERROR, INTERNAL_ERROR_MESSAGE
