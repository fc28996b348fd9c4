"""CSV and TSV, parsed a block of whole lines at a time.

Each block of text (about 256 KiB, see ``streams.TextBlocks``) becomes one batch of rows:

* a block with no quote and no carriage return is split with ``str.split`` (C code, several
  times faster than the csv module), since then every line is one row;
* any other block goes through the csv module, strictly, so a stray or unclosed quote fails
  instead of silently merging rows. A quoted field that runs past the end of a block is
  carried, with the rest of its row, into the next one.

Rows are checked with C-level operations (``set(map(len, ...))``); line numbers for messages
are worked out only when something is wrong.
"""

import csv
import io
import itertools
from collections.abc import Callable, Iterable, Iterator

from shared_schema.errors import (
    InconsistentRows,
    NoHeader,
    ProcessingError,
    TooManyColumns,
    UnterminatedQuote,
)
from system_b.formats import Row, Table
from system_b.infer import text_is_number

Parsed = tuple[list[Row], int]
"""Rows of one block (a blank line is an empty row) and the number of lines before the first."""


def delimited_table(
    blocks: Iterable[str],
    *,
    delimiter: str,
    max_columns: int,
    max_field_chars: int,
    lines_before: Callable[[], int],
) -> Table:
    """The table in ``blocks``; ``lines_before()`` is the number of lines before the block
    just handed on, which is where that block's line numbers start."""
    # Bounds the memory one field can take. Process-wide; only this module sets it.
    csv.field_size_limit(max_field_chars)
    parsed = _parsed(
        iter(blocks), delimiter=delimiter, limit=max_field_chars, lines_before=lines_before
    )
    first = next((block for block in parsed if block[0]), None)
    if first is None:
        raise NoHeader("The file has no header line.")
    rows, start = first
    header = rows[0]
    _header_check(header, max_columns=max_columns)
    rest: Parsed = (rows[1:], _line_of(rows, 1, start=start) - 1)
    return Table(
        header=header, batches=_checked(itertools.chain([rest], parsed), width=len(header))
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


def _parsed(
    blocks: Iterator[str], *, delimiter: str, limit: int, lines_before: Callable[[], int]
) -> Iterator[Parsed]:
    carry, carry_start = "", 0
    header_read = False
    for block in blocks:
        text, start = (carry + block, carry_start) if carry else (block, lines_before())
        if header_read and not carry and '"' not in text and "\r" not in text:
            lines = text.split("\n")
            if not lines[-1]:
                lines.pop()
            if "" not in lines:  # blank lines are not rows: leave them to the csv module
                yield list(map(str.split, lines, itertools.repeat(delimiter))), start
                continue
        rows, carry, error = _csv_parse(text, delimiter=delimiter)
        header_read = header_read or bool(rows)
        yield rows, start  # checked first: a problem in an earlier row is reported first
        if error is not None:
            exc, line = error
            raise _csv_error(exc, line=start + line, rows=rows, start=start, limit=limit)
        if carry:
            carry_start = start + text.count("\n") - carry.count("\n")
            if len(carry) > limit:
                raise UnterminatedQuote(
                    f"A field of the row on line {carry_start + 1} runs past {limit:,} "
                    "characters, which usually means a quote that is never closed."
                )
    if carry:
        raise UnterminatedQuote(
            f"The quoted field on line {carry_start + 1} is never closed: the file ends inside it."
        )


def _csv_parse(text: str, *, delimiter: str) -> tuple[list[Row], str, tuple[csv.Error, int] | None]:
    """Rows of ``text``, the text of a last row whose quoted field is still open, and the
    error that stopped parsing (with the line of ``text`` it is on), if another one did."""
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, strict=True)
    rows: list[Row] = []
    try:
        rows.extend(reader)  # extend() keeps the rows parsed before an error
    except csv.Error as exc:
        if "end of data" not in str(exc):
            return rows, "", (exc, reader.line_num)
        # The quoted field may close in the next block: hand back the row it belongs to.
        return rows, _from_line(text, _line_of(rows, len(rows), start=0) - 1), None
    return rows, "", None


def _from_line(text: str, index: int) -> str:
    """``text`` from the start of its line ``index`` (counting from 0)."""
    position = 0
    for _ in range(index):
        position = text.index("\n", position) + 1
    return text[position:]


def _checked(parsed: Iterator[Parsed], *, width: int) -> Iterator[list[Row]]:
    for rows, start in parsed:
        if checked := _widths_check(rows, width=width, start=start):
            yield checked


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
    exc: csv.Error, *, line: int, rows: list[Row], start: int, limit: int
) -> ProcessingError:
    problem = str(exc)
    if "field limit" in problem:
        return UnterminatedQuote(
            f"A field of the row on line {_line_of(rows, len(rows), start=start)} runs past "
            f"{limit:,} characters, which usually means a quote that is never closed."
        )
    if "expected after" in problem:
        return UnterminatedQuote(
            f"Line {line} has a quote in the middle of a field ({problem}): a quote inside a "
            'quoted field must be doubled ("").'
        )
    return InconsistentRows(f"Line {line} cannot be read as a table row: {problem}.")
