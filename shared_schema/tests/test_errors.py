import pytest

from shared_schema.errors import (
    ERROR_HINTS,
    ErrorCode,
    InconsistentRows,
    ProcessingError,
    StorageUnavailable,
    error_class_for,
)

ERROR_CLASSES = ProcessingError.__subclasses__()


def test_every_error_code_has_a_hint_for_the_user() -> None:
    assert set(ERROR_HINTS) == set(ErrorCode)
    assert all(hint.strip() for hint in ERROR_HINTS.values())


def test_each_error_class_has_its_own_code() -> None:
    codes = [cls.code for cls in ERROR_CLASSES]

    assert len(codes) == len(set(codes))


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda cls: cls.__name__)
def test_an_error_rebuilt_from_its_args_keeps_class_code_and_message(
    cls: type[ProcessingError],
) -> None:
    # What Celery's result backend does on the reader's side: cls(*exc_message).
    original = cls("Line 3 has 2 fields; the header has 3.")

    rebuilt = cls(*original.args)

    assert type(rebuilt) is cls
    assert rebuilt.code == cls.code
    assert rebuilt.message == original.message


def test_error_class_for_finds_the_class_b_raises_for_a_code() -> None:
    assert error_class_for(ErrorCode.INCONSISTENT_ROWS) is InconsistentRows


def test_error_class_for_falls_back_to_the_base_for_codes_only_a_sets() -> None:
    assert error_class_for(ErrorCode.NO_OUTCOME) is ProcessingError


def test_only_transient_storage_errors_are_retryable() -> None:
    assert [cls for cls in ERROR_CLASSES if cls.retryable] == [StorageUnavailable]


def test_an_error_offers_the_hint_for_its_code() -> None:
    assert InconsistentRows("x").hint == ERROR_HINTS[ErrorCode.INCONSISTENT_ROWS]


def test_retrying_helps_for_faults_of_the_run_and_never_for_the_files_own_errors() -> None:
    assert ErrorCode.STORAGE_UNAVAILABLE.retry_helps
    assert ErrorCode.PROCESSING_TIMEOUT.retry_helps
    assert ErrorCode.NO_OUTCOME.retry_helps
    assert not ErrorCode.INCONSISTENT_ROWS.retry_helps
    assert not ErrorCode.EMPTY_FILE.retry_helps
    # Every error B's task retries by itself is one a person's retry can help with too.
    assert all(cls.code.retry_helps for cls in ERROR_CLASSES if cls.retryable)
