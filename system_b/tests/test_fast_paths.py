"""The fast paths against the slow, obvious computations they replace.

The delimited reader's fast path splits plain lines with ``str.split`` and must read every
block it accepts exactly as the csv module would; the date check slices the joined batch and
must agree with the pattern it replaced. Each property compares the two on generated input.
"""

import csv
import io
import re

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from system_b.formats.delimited import fast_columns
from system_b.infer import _dates_shaped

EXAMPLES = settings(max_examples=600, deadline=None)

# Every character that means something to a CSV reader, and a few that do not.
CSV_TEXT = st.text(st.sampled_from(["a", "b", " ", ",", ";", "\n", "\r", '"', "\t"]), max_size=40)
PLAIN_VALUE = st.text(st.sampled_from(["a", "1", " ", ",", '"', "\n"]), max_size=6).filter(
    lambda value: "\n\n" not in value  # a blank line inside a quoted field: the exact reader's
)


def csv_module_columns(text: str, *, delimiter: str, width: int) -> list[list[str]] | None:
    """What the csv module reads from ``text``, transposed; None for anything but a table of
    rows ``width`` wide (blank lines skipped)."""
    try:
        rows = [
            row for row in csv.reader(io.StringIO(text), delimiter=delimiter, strict=True) if row
        ]
    except csv.Error:
        return None
    if any(len(row) != width for row in rows):
        return None
    return (
        [list(column) for column in zip(*rows, strict=True)] if rows else [[] for _ in range(width)]
    )


@EXAMPLES
@given(text=CSV_TEXT, width=st.integers(1, 4), delimiter=st.sampled_from([",", ";", "\t"]))
def test_the_fast_reader_reads_any_block_it_accepts_as_the_csv_module_does(
    text: str, width: int, delimiter: str
) -> None:
    columns = fast_columns(text, delimiter=delimiter, width=width)

    if columns is not None:
        assert columns == csv_module_columns(text, delimiter=delimiter, width=width)


@EXAMPLES
@given(
    rows=st.lists(st.lists(PLAIN_VALUE, min_size=3, max_size=3), max_size=8),
    line_end=st.sampled_from(["\n", "\r\n"]),
)
def test_the_fast_reader_accepts_what_a_csv_writer_writes_without_carriage_returns_in_quotes(
    rows: list[list[str]], line_end: str
) -> None:
    out = io.StringIO()
    csv.writer(out, lineterminator=line_end).writerows(rows)
    text = out.getvalue()

    columns = fast_columns(text, delimiter=",", width=3)

    if line_end == "\r\n" and '"' in text:
        assert columns is None  # a quoted field may keep a \r: the exact reader decides
    else:
        assert columns == csv_module_columns(text, delimiter=",", width=3)


@EXAMPLES
@given(
    widths=st.lists(st.integers(1, 4), max_size=6),
    width=st.integers(1, 4),
    quoted=st.booleans(),
)
def test_the_fast_reader_accepts_plain_lines_only_when_every_one_is_as_wide_as_the_header(
    widths: list[int], width: int, quoted: bool
) -> None:
    # Rows that are too wide and too narrow can add up to the right number of fields.
    lines = [",".join(["v"] * n) for n in widths]
    if quoted and lines:
        lines[len(lines) // 2] = ",".join(['"q"'] * width)
    text = "".join(line + "\n" for line in lines)

    columns = fast_columns(text, delimiter=",", width=width)

    assert (columns is not None) == all(len(line.split(",")) == width for line in lines)
    assert columns is None or columns == csv_module_columns(text, delimiter=",", width=width)


def test_a_row_of_the_wrong_width_is_left_to_the_exact_reader_to_name() -> None:
    assert fast_columns("a,b,c\nd\n", delimiter=",", width=2) is None
    assert fast_columns("1,2,3\n4,5\n6,7,8\n", delimiter=",", width=3) is None
    assert fast_columns('1,"2",3\n4,5,6,7\n', delimiter=",", width=3) is None


def test_a_quoted_field_running_into_the_next_block_is_left_to_the_exact_reader() -> None:
    assert fast_columns('1,2,3\n4,5,"six\n', delimiter=",", width=3) is None


def test_quoted_records_keep_their_places_among_the_plain_lines() -> None:
    text = 'a,b\n"c,1",d\ne,f\n"g\nh",i\nj,k\n'

    assert fast_columns(text, delimiter=",", width=2) == [
        ["a", "c,1", "e", "g\nh", "j"],
        ["b", "d", "f", "i", "k"],
    ]


DATE_LINES = re.compile(r"(?:[0-9]{4}-[0-9]{2}-[0-9]{2}\n)*[0-9]{4}-[0-9]{2}-[0-9]{2}")
DATE_LIKE = st.one_of(
    st.dates().map(str),
    st.text(st.sampled_from(list("0123456789-\n")), min_size=8, max_size=12),
)


@EXAMPLES
@given(values=st.lists(DATE_LIKE, min_size=1, max_size=6))
def test_the_date_shape_check_agrees_with_the_pattern_it_replaced(values: list[str]) -> None:
    joined = "\n".join(values)
    assume(joined.count("\n") == len(values) - 1)  # a value with a newline never reaches it

    assert _dates_shaped(joined, len(values)) == (DATE_LINES.fullmatch(joined) is not None)
