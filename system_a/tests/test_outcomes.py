from celery.exceptions import WorkerLostError

from files.outcomes import INTERNAL_ERROR_MESSAGE, failure_describe
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
