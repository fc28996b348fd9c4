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


# Failures of the wire itself, recorded against a task that did its work: on the pinned Celery,
# when B's worker cannot publish the success link (the broker went away after the retries in
# celery/app/amqp.py), the trace records the task as FAILED with the broker error and publishes
# the errback, while the unacknowledged message comes back and runs again. Such a "failure" says
# nothing about the file; the redelivered run, or the sweeper's deadline, decides.
_WIRE_ERRORS = frozenset(
    {
        ("kombu.exceptions", "OperationalError"),
        ("amqp.exceptions", "RecoverableConnectionError"),
        ("amqp.exceptions", "ConnectionForced"),
        ("redis.exceptions", "ConnectionError"),
        ("redis.exceptions", "TimeoutError"),
        ("builtins", "ConnectionError"),
        ("builtins", "ConnectionResetError"),
        ("builtins", "ConnectionRefusedError"),
        ("builtins", "BrokenPipeError"),
    }
)


def failure_is_wire_error(exc: BaseException | None) -> bool:
    """True when B's recorded failure is the broker or backend going away, not the file."""
    if exc is None:
        return False
    return (type(exc).__module__, type(exc).__name__) in _WIRE_ERRORS
