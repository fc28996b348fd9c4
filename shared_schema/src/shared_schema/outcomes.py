"""What a caller makes of the failure stored for a task of B's: the contract's error, or a
failure of the wire that says nothing about the work. No Celery here.

The caller's error callback (and its reconciliation) reads the failure B stored in the result
backend; :func:`failure_classify` turns it into one of two things:

* a :class:`~shared_schema.errors.ProcessingError` with its code: an error of the contract as
  itself, or, for anything outside the contract (a bug in B, a killed worker, a class only B
  knows), an ``INTERNAL_ERROR`` whose message says nothing of B's internals (they may carry
  B's paths; log them, never show them);
* :class:`OutcomeUnknown`: what is stored is a failure of the wire itself (the broker or the
  result backend went away, a publish was refused), recorded against a task that may well have
  done its work. The caller leaves its record as it is; a redelivered run, or the caller's own
  reconciliation at its deadline, decides.
"""

from dataclasses import dataclass
from typing import Final

from shared_schema.errors import ProcessingError

INTERNAL_ERROR_MESSAGE: Final = "Processing failed unexpectedly."
"""The message of every failure outside the contract: the details are for operators' logs."""

# Failures of the wire, by (module, class name): the classes need not be importable here.
# On the pinned Celery, a worker that cannot publish a success link after its publish retries
# records the broker error as the task's failure (celery/app/trace.py); a worker that cannot
# publish a callback at all (the queue does not exist: NOT_FOUND; its user may not write there:
# ACCESS_REFUSED; the queue exists with other arguments: PRECONDITION_FAILED) records that error
# "outside the body", unless it runs shared_schema.wire, which keeps the task's real outcome.
WIRE_ERRORS: Final = frozenset(
    {
        ("kombu.exceptions", "OperationalError"),
        ("amqp.exceptions", "RecoverableConnectionError"),
        ("amqp.exceptions", "ConnectionForced"),
        ("amqp.exceptions", "ChannelError"),
        ("amqp.exceptions", "NotFound"),
        ("amqp.exceptions", "AccessRefused"),
        ("amqp.exceptions", "PreconditionFailed"),
        ("redis.exceptions", "ConnectionError"),
        ("redis.exceptions", "TimeoutError"),
        ("builtins", "ConnectionError"),
        ("builtins", "ConnectionResetError"),
        ("builtins", "ConnectionRefusedError"),
        ("builtins", "BrokenPipeError"),
    }
)


@dataclass(frozen=True)
class OutcomeUnknown:
    """The stored failure is the wire's, not the work's: the outcome is not known yet."""

    reason: str
    """For the log: what was stored (or why nothing could be read)."""


def failure_is_wire_error(exc: BaseException | None) -> bool:
    """True when a stored failure is the broker or the result backend going away, not the work."""
    if exc is None:
        return False
    return (type(exc).__module__, type(exc).__name__) in WIRE_ERRORS


def failure_classify(exc: BaseException | None) -> ProcessingError | OutcomeUnknown:
    """The contract's error for a stored failure, or :class:`OutcomeUnknown` for the wire's.

    ``None`` (no exception could be rebuilt) is a failure outside the contract, as is any
    exception the contract does not define.
    """
    if isinstance(exc, ProcessingError):
        return exc
    if failure_is_wire_error(exc):
        return OutcomeUnknown(reason=repr(exc))
    return ProcessingError(INTERNAL_ERROR_MESSAGE)
