import json

import pytest
from pydantic import ValidationError

from shared_schema.payloads import (
    SCHEMA_VERSION,
    ColumnSummary,
    ColumnType,
    FileFormat,
    ProcessingProgress,
    ProcessingRequest,
    ProcessingResult,
)

SHA = "a" * 64


def a_result(**overrides: object) -> ProcessingResult:
    fields: dict[str, object] = {
        "storage_key": "uploads/x.csv",
        "sha256": SHA,
        "size_bytes": 10,
        "format": "csv",
        "rows": 2,
        "columns": [{"name": "id", "type": "integer"}],
    }
    return ProcessingResult.model_validate({**fields, **overrides})


def test_a_request_survives_a_json_round_trip_unchanged() -> None:
    request = ProcessingRequest(file_id="7", storage_key="uploads/x.csv", original_name="x.csv")

    wire = json.dumps(request.model_dump(mode="json"))

    assert ProcessingRequest.model_validate(json.loads(wire)) == request


def test_a_request_carries_the_current_schema_version_by_default() -> None:
    assert ProcessingRequest(file_id="1", storage_key="k").schema_version == SCHEMA_VERSION


def test_payloads_are_frozen_values() -> None:
    request = ProcessingRequest(file_id="1", storage_key="k")

    with pytest.raises(ValidationError):
        request.storage_key = "other"  # type: ignore[misc]


def test_fields_a_newer_sender_adds_are_ignored_by_an_older_receiver() -> None:
    request = ProcessingRequest.model_validate(
        {"file_id": "1", "storage_key": "k", "priority": "high"}
    )

    assert not hasattr(request, "priority")


def test_a_request_without_a_storage_key_is_rejected() -> None:
    with pytest.raises(ValidationError, match="storage_key"):
        ProcessingRequest.model_validate({"file_id": "1"})


def test_a_result_with_a_checksum_that_is_not_sha256_hex_is_rejected() -> None:
    with pytest.raises(ValidationError, match="sha256"):
        a_result(sha256="not-a-checksum")


def test_a_result_with_a_negative_row_count_is_rejected() -> None:
    with pytest.raises(ValidationError, match="rows"):
        a_result(rows=-1)


def test_a_result_round_trips_with_its_enums_as_plain_strings() -> None:
    result = a_result()

    dumped = result.model_dump(mode="json")

    assert dumped["format"] == "csv"
    assert dumped["columns"][0]["type"] == "integer"
    assert ProcessingResult.model_validate(json.loads(json.dumps(dumped))) == result
    assert result.format is FileFormat.CSV


def test_a_column_defaults_to_string_with_no_nulls() -> None:
    column = ColumnSummary(name="x")

    assert (column.type, column.nulls) == (ColumnType.STRING, 0)


@pytest.mark.parametrize(
    ("read", "total", "percent"), [(0, 100, 0), (50, 200, 25), (300, 200, 100), (0, 0, 100)]
)
def test_progress_percent_is_bounded_and_safe_for_empty_files(
    read: int, total: int, percent: int
) -> None:
    assert ProcessingProgress(bytes_read=read, bytes_total=total, rows=0).percent == percent
