from celery.exceptions import WorkerLostError
from kombu.exceptions import OperationalError

from files.outcomes import INTERNAL_ERROR_MESSAGE, failure_describe, failure_is_wire_error
from shared_schema.errors import ErrorCode, FileTooLarge


def test_a_contract_error_keeps_its_code_and_message() -> None:
    assert failure_describe(FileTooLarge("The file is 3 GB.")) == (
        ErrorCode.FILE_TOO_LARGE,
        "The file is 3 GB.",
    )


def test_an_error_outside_the_contract_becomes_internal_without_its_details() -> None:
    code, message = failure_describe(KeyError("/srv/system_b/secret/path.py"))

    assert code == ErrorCode.INTERNAL_ERROR
    assert message == INTERNAL_ERROR_MESSAGE
    assert "/srv" not in message


def test_a_lost_worker_or_a_missing_reason_is_an_internal_error() -> None:
    assert failure_describe(WorkerLostError("killed"))[0] == ErrorCode.INTERNAL_ERROR
    assert failure_describe(None)[0] == ErrorCode.INTERNAL_ERROR


def test_a_broker_error_recorded_against_a_task_is_not_the_files_failure() -> None:
    assert failure_is_wire_error(OperationalError("[Errno 111] Connection refused"))
    assert failure_is_wire_error(ConnectionResetError(104, "Connection reset by peer"))


def test_processing_errors_and_unknown_reasons_are_failures_of_the_file() -> None:
    assert not failure_is_wire_error(FileTooLarge("big"))
    assert not failure_is_wire_error(WorkerLostError("killed"))
    assert not failure_is_wire_error(None)
