"""Property-based: generated tables, summarized by B, checked against a computation that knows
the table the file was written from (not the file); and broken files fail with the right code,
never with an exception outside the contract."""

import contextlib
import csv
import gzip
import hashlib
import io
import json
import string
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from shared_schema.errors import ErrorCode, ProcessingError
from shared_schema.payloads import ColumnType, FileFormat, ProcessingRequest, ProcessingResult
from shared_schema.storage import LocalStore
from system_b.infer import ColumnProfile
from system_b.processing import file_process

PROPERTIES = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

Value = int | float | bool | date | datetime | str | None

KINDS = {
    ColumnType.INTEGER: st.integers(-(10**17), 10**17),
    ColumnType.FLOAT: st.floats(allow_nan=False, allow_infinity=False),
    ColumnType.BOOLEAN: st.booleans(),
    ColumnType.DATE: st.dates(min_value=date(1000, 1, 1)),
    ColumnType.DATETIME: st.datetimes(
        min_value=datetime(1000, 1, 1), timezones=st.sampled_from([None, UTC])
    ),
    # A letter first, so no string ever reads as a number, boolean or date; then anything a
    # person types, delimiters, quotes and line breaks included.
    ColumnType.STRING: st.builds(
        lambda head, tail: head + tail,
        st.sampled_from("sxyz"),
        st.text(
            st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from(',;|\t"\n\r '),
            max_size=12,
        ),
    ),
}


@dataclass(frozen=True)
class Generated:
    format: FileFormat
    names: list[str]
    kinds: list[ColumnType]
    rows: list[list[Value]]
    content: bytes
    compressed: bool


def text_of(value: Value) -> str:
    """How a value is written in a CSV cell (and how B renders a JSON value as text)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date | datetime):
        return value.isoformat()
    return repr(value) if isinstance(value, float) else str(value)


def json_of(value: Value) -> object:
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


@st.composite
def tables(draw: st.DrawFn) -> Generated:
    fmt = draw(st.sampled_from(list(FileFormat)))
    width = draw(st.integers(2 if fmt is FileFormat.TSV else 1, 6))
    names = draw(
        st.lists(
            st.text(string.ascii_lowercase, min_size=1, max_size=6),
            min_size=width,
            max_size=width,
            unique=True,
        )
    )
    kinds = draw(st.lists(st.sampled_from(list(KINDS)), min_size=width, max_size=width))
    cells = [st.none() | KINDS[kind] for kind in kinds]
    rows = draw(
        st.lists(
            st.tuples(*cells).map(list), min_size=1 if fmt is FileFormat.JSONL else 0, max_size=25
        )
    )
    if fmt is FileFormat.JSONL:
        lines = []
        for index, row in enumerate(rows):
            # Later objects may leave a null out; the first one names every column.
            drop = index > 0 and draw(st.booleans())
            obj = {
                n: json_of(v) for n, v in zip(names, row, strict=True) if not (drop and v is None)
            }
            lines.append(json.dumps(obj, ensure_ascii=draw(st.booleans())))
        text = "".join(line + "\n" for line in lines)
    else:
        out = io.StringIO()
        # Quoting only where needed needs CRLF line ends: with a bare \n, the csv module leaves
        # a value ending in \r unquoted, and no reader can tell it from a CRLF line end.
        quote_all = draw(st.booleans())
        writer = csv.writer(
            out,
            delimiter="\t" if fmt is FileFormat.TSV else ",",
            lineterminator="\n" if quote_all else "\r\n",
            quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL,
        )
        writer.writerow(names)
        writer.writerows([text_of(v) for v in row] for row in rows)
        text = out.getvalue()
    content = (b"\xef\xbb\xbf" if draw(st.booleans()) else b"") + text.encode()
    compressed = draw(st.booleans())
    return Generated(
        format=fmt,
        names=names,
        kinds=kinds,
        rows=rows,
        content=gzip.compress(content) if compressed else content,
        compressed=compressed,
    )


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("storage")


SMALL_BLOCKS = 1024
"""A line limit that also makes blocks of text this small, so rows and quoted fields cross
block boundaries even in the small generated files."""


def process(root: Path, content: bytes, *, max_line_bytes: int = 1024**2) -> ProcessingResult:
    key = f"uploads/{uuid.uuid4().hex}"
    (root / "uploads").mkdir(exist_ok=True)
    (root / key).write_bytes(content)
    return file_process(
        request=ProcessingRequest(file_id="p", storage_key=key),
        store=LocalStore(root),
        max_bytes=10 * 1024**2,
        max_line_bytes=max_line_bytes,
    )


@PROPERTIES
@given(table=tables(), small_blocks=st.booleans())
def test_the_summary_matches_the_table_the_file_was_written_from(
    root: Path, table: Generated, small_blocks: bool
) -> None:
    result = process(root, table.content, max_line_bytes=SMALL_BLOCKS if small_blocks else 1024**2)

    assert result.format == table.format
    assert result.compression == ("gzip" if table.compressed else None)
    assert result.sha256 == hashlib.sha256(table.content).hexdigest()
    assert result.size_bytes == len(table.content)
    assert result.rows == len(table.rows)
    assert [c.name for c in result.columns] == table.names
    for index, (column, kind) in enumerate(zip(result.columns, table.kinds, strict=True)):
        values = [row[index] for row in table.rows if row[index] is not None]
        assert column.nulls == len(table.rows) - len(values), column
        assert column.type == (kind if values else ColumnType.EMPTY), column
        numbers = [float(v) for v in values if isinstance(v, int | float)]
        numeric = kind in (ColumnType.INTEGER, ColumnType.FLOAT) and numbers
        assert column.min == (min(numbers) if numeric else None), column
        assert column.max == (max(numbers) if numeric else None), column
    expected_cells = [[text_of(v) for v in row] for row in table.rows]
    assert [list(r) for r in result.sample_rows] == [
        [cell or None for cell in row] for row in expected_cells[:5]
    ]
    assert result.output_key is not None
    with (root / result.output_key).open(newline="", encoding="utf-8") as output:
        assert list(csv.reader(output)) == [table.names, *expected_cells]


def line_count(text: bytes) -> int:
    return text.count(b"\n") + (0 if text.endswith(b"\n") else 1)


def plain(table: Generated) -> bytes:
    return gzip.decompress(table.content) if table.compressed else table.content


@st.composite
def broken(draw: st.DrawFn) -> tuple[bytes, ErrorCode, str]:
    """A valid table with one mistake, the code B must report, and a line it must name."""
    table = draw(tables())
    content = plain(table)
    if not content.endswith(b"\n"):
        content += b"\n"
    next_line = f"Line {line_count(content) + 1}"
    delimiter = b"\t" if table.format is FileFormat.TSV else b","
    if table.format is FileFormat.JSONL:
        mistake = draw(
            st.sampled_from(
                [
                    (b'{"' + table.names[0].encode() + b'": 1,', ErrorCode.INVALID_JSON_LINE),
                    (b"[1, 2]", ErrorCode.INVALID_JSON_LINE),
                    (b'{"NOT_A_COLUMN": 1}', ErrorCode.INCONSISTENT_ROWS),
                ]
            )
        )
    else:
        mistake = draw(
            st.sampled_from(
                [
                    (delimiter.join([b"x"] * (len(table.names) + 1)), ErrorCode.INCONSISTENT_ROWS),
                    (b'"never closed', ErrorCode.UNTERMINATED_QUOTE),
                ]
            )
        )
    bad_line, code = mistake
    content += bad_line + b"\n"
    if draw(st.booleans()):
        # Undecodable bytes on the same line: still reported there, as undecodable.
        content = content[:-1] + b"\xff\n"
        code = ErrorCode.UNDECODABLE_TEXT
    if code is ErrorCode.UNTERMINATED_QUOTE:
        next_line = next_line.lower()
    return (gzip.compress(content) if table.compressed else content), code, next_line


@PROPERTIES
@given(case=broken(), small_blocks=st.booleans())
def test_a_table_with_one_mistake_fails_with_its_code_naming_its_line(
    root: Path, case: tuple[bytes, ErrorCode, str], small_blocks: bool
) -> None:
    content, code, line = case

    with pytest.raises(ProcessingError) as failure:
        process(root, content, max_line_bytes=SMALL_BLOCKS if small_blocks else 1024**2)

    assert failure.value.code == code
    assert line in failure.value.message


@PROPERTIES
@given(
    table=tables(),
    cut=st.integers(min_value=0),
    flips=st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)), max_size=4),
)
def test_damaged_bytes_never_fail_outside_the_contract(
    root: Path, table: Generated, cut: int, flips: list[tuple[int, int]]
) -> None:
    content = bytearray(table.content[: cut % (len(table.content) + 1)])
    for position, byte in flips:
        if content:
            content[position % len(content)] = byte

    # Anything but a ProcessingError escapes and fails the test.
    with contextlib.suppress(ProcessingError):
        result = process(root, bytes(content))
        assert result.sha256 == hashlib.sha256(content).hexdigest()


@PROPERTIES
@given(
    obj=st.dictionaries(st.text(string.ascii_lowercase, min_size=1, max_size=4), st.integers()),
    cut=st.integers(min_value=1),
    ending=st.sampled_from(["\n", "\r\n", ""]),
)
def test_an_invalid_json_line_is_placed_at_the_column_json_finds_on_the_line_alone(
    root: Path, obj: dict[str, int], cut: int, ending: str
) -> None:
    whole = json.dumps({"first": 1, **obj})
    line = whole[: 1 + cut % (len(whole) - 1)]  # cut short, never to nothing: never valid JSON
    try:
        json.loads(line)
    except json.JSONDecodeError as exc:
        column = exc.colno
    else:  # pragma: no cover - a prefix of an object is never one
        raise AssertionError(line)

    with pytest.raises(ProcessingError) as failure:
        process(root, (json.dumps({"first": 0}) + "\n" + line + ending).encode())

    assert failure.value.code == ErrorCode.INVALID_JSON_LINE
    assert failure.value.message.startswith("Line 2 ")
    assert failure.value.message.endswith(f"(at column {column}).")


@PROPERTIES
@given(
    numbers=st.lists(st.integers(-(10**6), 10**6), min_size=1, max_size=60),
    widths=st.lists(st.integers(0, 8), min_size=1, max_size=60),
    batch=st.integers(1, 20),
)
def test_an_integer_column_is_a_string_exactly_when_a_value_has_a_leading_zero(
    numbers: list[int], widths: list[int], batch: int
) -> None:
    # Zero-padded to a drawn width ("-0042"), or as written when the width is not wider.
    texts = [f"{n:0{w}d}" for n, w in zip(numbers, widths * len(numbers), strict=False)]
    profile = ColumnProfile("n")
    for start in range(0, len(texts), batch):
        profile.add(texts[start : start + batch])

    padded = any(len(t.lstrip("+-")) > 1 and t.lstrip("+-")[0] == "0" for t in texts)
    assert profile.type == (ColumnType.STRING if padded else ColumnType.INTEGER)


@PROPERTIES
@given(table=tables(), small_blocks=st.booleans())
def test_old_mac_line_ends_read_as_the_same_table_as_line_feeds(
    root: Path, table: Generated, small_blocks: bool
) -> None:
    content = plain(table)
    # Values with a line break of their own would be changed by the conversion (a CR in a
    # quoted field becomes an LF there too): only tables without them.
    lines = content.replace(b"\r\n", b"\n").split(b"\n")
    header = 0 if table.format is FileFormat.JSONL else 1
    assume(len(lines) == header + len(table.rows) + 1 and not any(b"\r" in x for x in lines))
    lf = b"\n".join(lines)
    cr = b"\r".join(lines)
    limit = SMALL_BLOCKS if small_blocks else 1024**2

    from_lf = process(root, lf, max_line_bytes=limit)
    from_cr = process(root, cr, max_line_bytes=limit)

    assert from_cr.format == from_lf.format
    assert (from_cr.rows, from_cr.columns, from_cr.sample_rows) == (
        from_lf.rows,
        from_lf.columns,
        from_lf.sample_rows,
    )
    read = [
        list(csv.reader(io.StringIO((root / str(r.output_key)).read_bytes().decode(), newline="")))
        for r in (from_cr, from_lf)
    ]
    assert read[0] == read[1]


@PROPERTIES
@given(table=tables(), data=st.data())
def test_a_header_with_a_blank_or_repeated_name_fails_naming_the_columns(
    root: Path, table: Generated, data: st.DataObject
) -> None:
    assume(len(table.names) >= 2)
    names = list(table.names)
    positions = st.sets(st.integers(0, len(names) - 1), min_size=2, max_size=2)
    first, second = sorted(data.draw(positions))
    blank = data.draw(st.booleans())
    if blank:
        names[second] = data.draw(st.sampled_from(["", " ", "  "]))
    else:
        names[second] = names[first] + data.draw(st.sampled_from(["", " "]))
    if table.format is FileFormat.JSONL:  # written by hand: a dict cannot hold a key twice
        header = "{" + ", ".join(f"{json.dumps(name)}: 1" for name in names) + "}"
    else:
        header = ("\t" if table.format is FileFormat.TSV else ",").join(names)

    with pytest.raises(ProcessingError) as failure:
        process(root, (header + "\n").encode())

    assert failure.value.code == ErrorCode.INVALID_HEADER
    assert failure.value.message.startswith("Line 1")
    if blank:
        assert f"column {second + 1}" in failure.value.message
    else:
        assert f"(columns {first + 1} and {second + 1})" in failure.value.message
