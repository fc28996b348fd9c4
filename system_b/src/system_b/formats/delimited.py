"""CSV and TSV, parsed a block of whole lines at a time.

Each block of text (about 32 KiB, see ``streams.TextBlocks``) becomes one batch, held column by
column. Two readers produce it:

* the fast one splits lines without quotes with ``str.split`` and slices the fields into
  columns (C code throughout, several times faster than the csv module); lines with a quote,
  and the lines a quoted field runs on to, go through the csv module one record at a time;
* the exact one reads the whole block with the csv module, strictly, so a stray or unclosed
  quote fails instead of silently merging rows. A quoted field that runs past the end of a block
  is carried, with the rest of its row, into the next one.

The fast reader never decides that something is wrong: whenever a block is not plainly right
(a row of the wrong width, a quote it cannot place, a lone carriage return) it hands the block
to the exact reader, which either reads it the same way or names the problem and its line.
Rows are checked with C-level operations (``set(map(len, ...))``); line numbers for messages
are worked out only when something is wrong.
"""

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from itertools import repeat
from operator import contains

from shared_schema.errors import (
    InconsistentRows,
    NoHeader,
    ProcessingError,
    TooManyColumns,
    UnsupportedFormat,
    UnterminatedQuote,
)
from system_b.formats import Batch, Column, Row, Table, header_names_check
from system_b.infer import text_is_number

QUOTE = '"'


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
    reader = _ExactReader(delimiter=delimiter, limit=max_field_chars, lines_before=lines_before)
    blocks = iter(blocks)
    for block in blocks:
        rows, start, error = reader.read(block)
        if rows:
            break
        if error is not None:
            raise error
    else:
        reader.finish()
        raise NoHeader("The file has no header line.")
    header = rows[0]
    _header_check(header, max_columns=max_columns)
    width = len(header)
    rest = _widths_check(rows[1:], width=width, start=_line_of(rows, 1, start=start) - 1)
    if error is not None:
        raise error
    return Table(
        header=header,
        batches=_batches(
            Batch.of_rows(rest, width=width), blocks, reader, delimiter=delimiter, width=width
        ),
    )


def _batches(
    first: Batch, blocks: Iterator[str], reader: "_ExactReader", *, delimiter: str, width: int
) -> Iterator[Batch]:
    if len(first):
        yield first
    for block in blocks:
        columns = None if reader.carrying else fast_columns(block, delimiter=delimiter, width=width)
        if columns is not None:
            batch = Batch(columns)
        else:
            rows, start, error = reader.read(block)
            rows = _widths_check(rows, width=width, start=start)  # an earlier row's problem first
            if error is not None:
                raise error
            batch = Batch.of_rows(rows, width=width)
        if len(batch):
            yield batch
    reader.finish()


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
    header_names_check(header, line=1)


# --- The fast reader --------------------------------------------------------------------------


def fast_columns(text: str, *, delimiter: str, width: int) -> list[Column] | None:
    """The columns of ``text`` (whole lines, blank lines skipped), or ``None`` for the exact
    reader to read it: the fast reader never names a problem, and it declines any block it
    cannot read exactly as the csv module would."""
    if "\r" in text:
        # CRLF line ends are the common case; a lone \r, or one inside a quoted field (which
        # the csv module keeps), is left to the exact reader.
        if QUOTE in text or text.count("\r") != text.count("\r\n"):
            return None
        text = text.replace("\r\n", "\n")
    if QUOTE not in text:
        return _split(text, delimiter=delimiter, width=width)
    if text.startswith("\n") or "\n\n" in text:
        return None  # blank lines, perhaps inside a quoted field: rare, left to the csv module
    # Lines with a quote go through the csv module one record at a time; the plain lines
    # around them are split together, and the records put back in their places.
    plain: list[str] = []
    records: list[tuple[int, Row]] = []  # (plain rows before it, the record)
    rows_before = taken = 0
    while (quote := text.find(QUOTE, taken)) != -1:
        # The record holding the quote starts at its line. Each quote opens or closes a quoted
        # field (a doubled quote closes and reopens one), so while the quotes so far are odd in
        # number, the record runs on to the next line.
        start = text.rfind("\n", taken, quote) + 1 or taken
        end = _line_end(text, quote)
        odd = text.count(QUOTE, start, end) % 2
        while odd:
            if end == len(text):
                return None  # the record runs on into the next block
            after = end + 1
            end = _line_end(text, after)
            odd ^= text.count(QUOTE, after, end) % 2
        record = _record(text[start:end], delimiter=delimiter, width=width)
        if record is None:
            return None
        plain.append(text[taken:start])
        rows_before += plain[-1].count("\n")
        records.append((rows_before, record))
        taken = end + 1
    plain.append(text[taken:])
    columns = _split("".join(plain), delimiter=delimiter, width=width)
    if columns is None:
        return None
    return [_interleave(column, records, index) for index, column in enumerate(columns)]


def _interleave(column: Column, records: list[tuple[int, Row]], index: int) -> Column:
    """``column`` with field ``index`` of each record put back where the record was."""
    out: Column = []
    done = 0
    for position, record in records:
        out += column[done:position]
        out.append(record[index])
        done = position
    out += column[done:]
    return out


def _line_end(text: str, position: int) -> int:
    """Where the line holding ``position`` ends: its newline, or the end of the text."""
    end = text.find("\n", position)
    return len(text) if end == -1 else end


def _split(text: str, *, delimiter: str, width: int) -> list[Column] | None:
    """Lines without quotes as columns, if every line holds ``width - 1`` delimiters.

    One ``split`` at the delimiter does all the work: if every line has the right number of
    fields, the n - 1 newlines fall exactly into every (width - 1)th piece (the last field of a
    line, a newline, the first field of the next), and those pieces are split once more.
    Checking that they all hold a newline is what proves every line's width.
    """
    if text.startswith("\n") or "\n\n" in text:  # blank lines are not rows
        text = "\n".join(filter(None, text.split("\n")))
    elif text.endswith("\n"):
        text = text[:-1]
    if not text:
        return [[] for _ in range(width)]
    if width == 1:
        return None if delimiter in text else [text.split("\n")]
    lines, step = text.count("\n") + 1, width - 1
    pieces = text.split(delimiter)
    if len(pieces) != lines * step + 1:
        return None
    joins = pieces[step:-1:step]
    if not all(map(contains, joins, repeat("\n"))):
        return None
    # The last field of a line, the first of the next, the last of that one, ...
    halves = "\n".join(joins).split("\n") if joins else []
    first = [pieces[0]]
    first += halves[1::2]
    last = halves[0::2]
    last.append(pieces[-1])
    return [first, *(pieces[i::step] for i in range(1, step)), last]


def _record(text: str, *, delimiter: str, width: int) -> Row | None:
    """The one row ``text`` holds, if it holds exactly one of ``width`` fields."""
    try:
        rows = list(csv.reader([text], delimiter=delimiter, strict=True))
    except csv.Error:
        return None
    return rows[0] if len(rows) == 1 and len(rows[0]) == width else None


# --- The exact reader -------------------------------------------------------------------------


class _ExactReader:
    """The csv module over whole blocks, carrying a row whose quoted field is still open."""

    def __init__(self, *, delimiter: str, limit: int, lines_before: Callable[[], int]) -> None:
        self._delimiter = delimiter
        self._limit = limit
        self._lines_before = lines_before
        self._carry = ""
        self._carry_start = 0

    @property
    def carrying(self) -> bool:
        return bool(self._carry)

    def read(self, block: str) -> tuple[list[Row], int, ProcessingError | None]:
        """The rows of ``block`` (a blank line is an empty row), the number of lines before
        the first, and the problem that stopped the reading, if one did: to be raised once the
        rows before it are checked, so a problem in an earlier row is reported first."""
        if self._carry:
            text, start = self._carry + block, self._carry_start
        else:
            text, start = block, self._lines_before()
        rows, carry, error = _csv_parse(text, delimiter=self._delimiter)
        if error is not None:
            exc, line = error
            problem = _csv_error(exc, line=start + line, rows=rows, start=start, limit=self._limit)
            return rows, start, problem
        self._carry = carry
        if carry:
            self._carry_start = start + text.count("\n") - carry.count("\n")
            if len(carry) > self._limit:
                return rows, start, _field_too_long(line=self._carry_start + 1, limit=self._limit)
        return rows, start, None

    def finish(self) -> None:
        if self._carry:
            raise UnterminatedQuote(
                f"The quoted field on line {self._carry_start + 1} is never closed: "
                "the file ends inside it."
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
        return _field_too_long(line=_line_of(rows, len(rows), start=start), limit=limit)
    if "new-line character" in problem:
        # The csv module's own words ask for "universal-newline mode", which means nothing to
        # the person who saved the file.
        return UnsupportedFormat(
            f"Line {line} has a carriage return (CR) inside it, outside quotes: the file mixes "
            "line ends (CR alone in places, LF or CR LF elsewhere). Save it again with one kind "
            "of line end."
        )
    if "expected after" in problem:
        return UnterminatedQuote(
            f"Line {line} has a quote in the middle of a field ({problem}): a quote inside a "
            'quoted field must be doubled ("").'
        )
    return InconsistentRows(f"Line {line} cannot be read as a table row: {problem}.")


def _field_too_long(*, line: int, limit: int) -> UnterminatedQuote:
    return UnterminatedQuote(
        f"A field of the row on line {line} runs past {limit:,} characters, which usually "
        "means a quote that is never closed."
    )
