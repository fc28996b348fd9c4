"""CSV and TSV: the csv module over the text's lines, checked a batch at a time.

Rows are taken from the C parser in batches (``islice``) and checked with C-level operations
(``set(map(len, ...))``), so Python code runs per batch, not per row. Line numbers for messages
are worked out only when something is wrong.
"""

import csv
import itertools
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from shared_schema.errors import (
    InconsistentRows,
    NoHeader,
    ProcessingError,
    TooManyColumns,
    UnterminatedQuote,
)
from system_b.formats import Row, Table
from system_b.infer import text_is_number

if TYPE_CHECKING:
    import _csv

BATCH_CHARS = 256 * 1024
"""About how much text one batch holds; the row count adapts to the rows' width."""
MAX_BATCH_ROWS = 4096
FIRST_BATCH_ROWS = 64


def delimited_table(
    lines: Iterator[str],
    *,
    delimiter: str,
    max_columns: int,
    max_field_chars: int,
    chars_read: Callable[[], int],
) -> Table:
    """The table in ``lines``; ``chars_read`` says how much text they have taken so far, which
    sizes the batches."""
    # The limit bounds the memory an unclosed quote can take (its field grows until the end
    # of the file otherwise). It is process-wide; only this module sets it.
    csv.field_size_limit(max_field_chars)
    # strict=True turns a stray or unclosed quote into csv.Error instead of a silently merged row.
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise _csv_error(exc, line=1, reader=reader, max_field_chars=max_field_chars) from None
    if header is None:
        raise NoHeader("The file has no header line.")
    _header_check(header, max_columns=max_columns)
    return Table(
        header=header,
        batches=_batches(reader, width=len(header), limit=max_field_chars, chars_read=chars_read),
    )


def _header_check(header: Row, *, max_columns: int) -> None:
    if not any(name.strip() for name in header):
        raise NoHeader("Line 1 should be a header naming each column, but it is blank.")
    if len(header) > max_columns:
        raise TooManyColumns(
            f"Line 1 has {len(header):,} columns; the limit is {max_columns:,} columns."
        )
    if all(text_is_number(name) for name in header):
        shown = ", ".join(header[:3]) + (", ..." if len(header) > 3 else "")
        raise NoHeader(
            f"Line 1 ({shown}) looks like data, not a header: every field is a number. "
            "The first line must name each column."
        )


def _batches(
    reader: "_csv.Reader", *, width: int, limit: int, chars_read: Callable[[], int]
) -> Iterator[list[Row]]:
    step = FIRST_BATCH_ROWS
    while True:
        start = reader.line_num
        rows: list[Row] = []
        try:
            # extend() keeps the rows parsed before an error, which locate it.
            rows.extend(itertools.islice(reader, step))
        except csv.Error as exc:
            _widths_check(rows, width=width, start=start)
            line = _line_of(rows, len(rows), start=start)
            raise _csv_error(exc, line=line, reader=reader, max_field_chars=limit) from None
        if not rows:
            return
        if checked := _widths_check(rows, width=width, start=start):
            yield checked
        # Rows so far took about chars_read() / line_num characters each.
        step = max(1, min(MAX_BATCH_ROWS, BATCH_CHARS * reader.line_num // max(1, chars_read())))


def _widths_check(rows: list[Row], *, width: int, start: int) -> list[Row]:
    """``rows`` without blank lines, or the error for the first row of the wrong width."""
    widths = set(map(len, rows))
    if widths == {width}:
        return rows
    for index, row in enumerate(rows):
        if row and len(row) != width:
            line = _line_of(rows, index, start=start)
            raise InconsistentRows(
                f"Line {line} has {len(row)} field{'s' if len(row) != 1 else ''}; "
                f"the header has {width}."
            )
    return [row for row in rows if row]  # a blank line is not a row


def _line_of(rows: list[Row], index: int, *, start: int) -> int:
    """The line ``rows[index]`` starts on: rows before it span one line plus their newlines."""
    newlines = sum(field.count("\n") for row in rows[:index] for field in row)
    return start + index + newlines + 1


def _csv_error(
    exc: csv.Error, *, line: int, reader: "_csv.Reader", max_field_chars: int
) -> ProcessingError:
    problem = str(exc)
    if "end of data" in problem:
        return UnterminatedQuote(
            f"The quoted field on line {line} is never closed: the file ends inside it."
        )
    if "field limit" in problem:
        return UnterminatedQuote(
            f"A field of the row on line {line} runs past {max_field_chars:,} characters, "
            "which usually means a quote that is never closed."
        )
    if "expected after" in problem:
        return UnterminatedQuote(
            f"Line {reader.line_num} has a quote in the middle of a field ({problem}): a "
            'quote inside a quoted field must be doubled ("").'
        )
    return InconsistentRows(f"Line {reader.line_num} cannot be read as a table row: {problem}.")
