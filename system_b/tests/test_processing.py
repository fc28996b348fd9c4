import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest

from shared_schema.errors import (
    EmptyFile,
    FileMissing,
    FileTooLarge,
    InconsistentRows,
    NoHeader,
    ProcessingError,
    UndecodableText,
    UnterminatedQuote,
)
from shared_schema.payloads import ProcessingProgress, ProcessingRequest, ProcessingResult
from system_b.processing import PROGRESS_EVERY_ROWS, file_process

Store = Callable[..., ProcessingRequest]
LIMIT = 10 * 1024**2


def run(request: ProcessingRequest, root: Path, **kwargs: object) -> ProcessingResult:
    return file_process(request=request, storage_root=root, max_bytes=LIMIT, **kwargs)  # type: ignore[arg-type]


def test_a_csv_summary_counts_data_rows_and_names_the_columns(
    stored: Store, storage_root: Path
) -> None:
    result = run(stored(b"id,name\n1,a\n2,b\n3,c\n"), storage_root)

    assert result.rows == 3
    assert [column.name for column in result.columns] == ["id", "name"]
    assert result.format == "csv"


def test_the_checksum_and_size_are_of_the_exact_bytes_stored(
    stored: Store, storage_root: Path
) -> None:
    content = b"\xef\xbb\xbfid\r\n1\r\n"

    result = run(stored(content), storage_root)

    assert result.sha256 == hashlib.sha256(content).hexdigest()
    assert result.size_bytes == len(content)


def test_a_utf8_byte_order_mark_is_not_part_of_the_first_column_name(
    stored: Store, storage_root: Path
) -> None:
    result = run(stored(b"\xef\xbb\xbfid,name\n1,a\n"), storage_root)

    assert result.columns[0].name == "id"


def test_a_quoted_field_may_span_lines(stored: Store, storage_root: Path) -> None:
    result = run(stored(b'id,note\n1,"two\nlines"\n2,plain\n'), storage_root)

    assert result.rows == 2


def test_a_header_only_file_has_zero_rows(stored: Store, storage_root: Path) -> None:
    assert run(stored(b"a,b\n"), storage_root).rows == 0


@pytest.mark.parametrize(
    ("content", "error", "where"),
    [
        (b"", EmptyFile, "empty"),
        (b"\n1,2\n", NoHeader, "Line 1"),
        (b"a,b,c\n1,2,3\n4,5\n", InconsistentRows, "Line 3 has 2 fields; the header has 3"),
        (b'a,b\n1,"never closed\n2,3\n', UnterminatedQuote, "never closed"),
        ("a\nb\ncaf\u00e9\n".encode("latin-1"), UndecodableText, "Line 3"),
    ],
    ids=["empty", "blank-header", "short-row", "open-quote", "latin-1"],
)
def test_a_broken_file_fails_with_its_own_error_naming_the_problem(
    stored: Store, storage_root: Path, content: bytes, error: type[ProcessingError], where: str
) -> None:
    with pytest.raises(error, match=where):
        run(stored(content), storage_root)


def test_a_file_over_the_size_limit_is_refused_before_it_is_parsed(
    stored: Store, storage_root: Path
) -> None:
    request = stored(b"a\n" + b"1\n" * 100)

    with pytest.raises(FileTooLarge, match="limit"):
        file_process(request=request, storage_root=storage_root, max_bytes=50)


def test_a_missing_file_fails_as_missing(storage_root: Path) -> None:
    with pytest.raises(FileMissing):
        run(ProcessingRequest(file_id="1", storage_key="uploads/nope.csv"), storage_root)


def test_progress_is_offered_while_parsing_and_once_at_the_end(
    stored: Store, storage_root: Path
) -> None:
    rows = PROGRESS_EVERY_ROWS * 2 + 5
    content = b"n\n" + b"1\n" * rows
    seen: list[ProcessingProgress] = []

    run(stored(content), storage_root, on_progress=seen.append)

    assert [p.rows for p in seen] == [PROGRESS_EVERY_ROWS, PROGRESS_EVERY_ROWS * 2, rows]
    assert seen[-1].bytes_read == seen[-1].bytes_total == len(content)
