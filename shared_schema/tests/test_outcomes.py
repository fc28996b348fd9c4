"""What every caller makes of a stored failure: the contract's error, or the wire's."""

import pytest

from shared_schema.errors import ErrorCode, FileTooLarge, InconsistentRows, ProcessingError
from shared_schema.outcomes import (
    INTERNAL_ERROR_MESSAGE,
    WIRE_ERRORS,
    OutcomeUnknown,
    failure_classify,
    failure_is_wire_error,
)


def synthetic(module: str, name: str) -> BaseException:
    """An exception as Celery rebuilds one whose class the reader cannot import."""
    cls: type[Exception] = type(name, (Exception,), {"__module__": module})
    return cls("from the wire")


def test_a_contract_error_is_itself_with_its_code_and_message() -> None:
    error = InconsistentRows("Line 3 has 2 fields; the header has 3.")

    assert failure_classify(error) is error
    assert error.code == ErrorCode.INCONSISTENT_ROWS


@pytest.mark.parametrize("failure", [KeyError("/srv/system_b/secret.py"), None])
def test_anything_outside_the_contract_is_an_internal_error_free_of_bs_details(
    failure: BaseException | None,
) -> None:
    error = failure_classify(failure)

    assert isinstance(error, ProcessingError)
    assert error.code == ErrorCode.INTERNAL_ERROR
    assert error.message == INTERNAL_ERROR_MESSAGE


@pytest.mark.parametrize(("module", "name"), sorted(WIRE_ERRORS))
def test_a_broker_or_backend_error_is_no_outcome_yet(module: str, name: str) -> None:
    outcome = failure_classify(synthetic(module, name))

    assert isinstance(outcome, OutcomeUnknown)
    assert name in outcome.reason


@pytest.mark.parametrize("name", ["NotFound", "AccessRefused", "PreconditionFailed"])
def test_a_refused_callback_publish_recorded_by_a_stock_worker_is_no_outcome_yet(
    name: str,
) -> None:
    assert failure_is_wire_error(synthetic("amqp.exceptions", name))


def test_a_contract_error_is_never_a_wire_error() -> None:
    assert not failure_is_wire_error(FileTooLarge("big"))
    assert not failure_is_wire_error(None)
