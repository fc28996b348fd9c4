"""JSON Lines: one JSON object per line; the first object's keys are the columns.

A later object may leave a key out (a null) but may not bring a key of its own: the normalized
output's header is written before those rows are read. Values become text the way they are
written in JSON (``true``, ``3.5``), nested arrays and objects as compact JSON; null is empty.
"""

import json
from collections.abc import Iterator

from shared_schema.errors import (
    InconsistentRows,
    InvalidJsonLine,
    NoHeader,
    TooManyColumns,
)
from system_b.formats import Batch, Row, Table, header_names_check

BATCH_ROWS = 1024

_KINDS = {list: "an array", str: "a string", int: "a number", float: "a number", bool: "a boolean"}


def jsonl_table(lines: Iterator[str], *, max_columns: int) -> Table:
    numbered = enumerate(lines, start=1)
    for number, line in numbered:
        if line.strip():
            first = _object(line, number)
            break
    else:
        raise NoHeader("The file has no JSON object in it.")
    if not first:
        raise NoHeader(
            f"Line {number} is an empty object; the first object names the columns with its keys."
        )
    if len(first) > max_columns:
        raise TooManyColumns(
            f"Line {number} has {len(first):,} keys; the limit is {max_columns:,} columns."
        )
    # json.loads keeps the last of two equal keys: the first object is read once more, as
    # pairs, so a name given twice is refused like a CSV header's.
    names: list[tuple[str, object]] = json.loads(line, object_pairs_hook=lambda pairs: pairs)
    header_names_check([name for name, _ in names], line=number)
    header = list(first)
    return Table(header=header, batches=_batches(first, number, numbered, header=header))


def _batches(
    first: dict[str, object],
    first_line: int,
    numbered: Iterator[tuple[int, str]],
    *,
    header: list[str],
) -> Iterator[Batch]:
    keys = first.keys()
    rows: list[Row] = [_row(first, header)]
    for number, line in numbered:
        if line.isspace():
            continue
        obj = _object(line, number)
        if obj.keys() != keys:
            extra = next((key for key in obj if key not in keys), None)
            if extra is not None:
                raise InconsistentRows(
                    f"Line {number} has the key {extra!r}, which line {first_line} (the first "
                    "object, which names the columns) does not have."
                )
        rows.append(_row(obj, header))
        if len(rows) >= BATCH_ROWS:
            yield Batch.of_rows(rows, width=len(header))
            rows = []
    if rows:
        yield Batch.of_rows(rows, width=len(header))


def _object(line: str, number: int) -> dict[str, object]:
    try:
        value = json.loads(line)
    except json.JSONDecodeError:
        raise InvalidJsonLine(f"Line {number} is not valid JSON: {_json_problem(line)}.") from None
    if not isinstance(value, dict):
        kind = "null" if value is None else _KINDS.get(type(value), type(value).__name__)
        raise InvalidJsonLine(f"Line {number} is {kind}, not a JSON object.")
    return value


def _json_problem(line: str) -> str:
    """What is wrong with ``line``, and at which column, counted on the line alone.

    The line is parsed again without its line ending: JSON reads a newline as whitespace, or as
    a control character inside an unclosed string, so an error at the end of the text would
    otherwise be placed past it, "on the next line".
    """
    try:
        json.loads(line.rstrip("\r\n"))
    except json.JSONDecodeError as exc:
        return f"{exc.msg.removesuffix(' at')} (at column {exc.colno})"
    return "it holds a line break inside a value"  # pragma: no cover - a line has none


def _row(obj: dict[str, object], header: list[str]) -> Row:
    return [_text(obj.get(key)) for key in header]


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
