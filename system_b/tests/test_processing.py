import codecs
import gzip
import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from shared_schema.errors import (
    BinaryFile,
    EmptyFile,
    ErrorCode,
    FileMissing,
    FileTooLarge,
    InconsistentRows,
    InvalidHeader,
    InvalidJsonLine,
    NoHeader,
    ProcessingError,
    StorageKeyOutsideRoot,
    TooManyColumns,
    UndecodableText,
    UnsupportedFormat,
    UnterminatedQuote,
)
from shared_schema.payloads import (
    ColumnType,
    FileFormat,
    ProcessingProgress,
    ProcessingRequest,
    ProcessingResult,
)
from shared_schema.storage import LocalStore
from system_b.processing import PROGRESS_EVERY_ROWS, file_process
from system_b.streams import GZIP_RATIO_AFTER_BYTES, READ_BYTES

Store = Callable[..., ProcessingRequest]
LIMIT = 10 * 1024**2


def run(request: ProcessingRequest, root: Path, **kwargs: object) -> ProcessingResult:
    return file_process(request=request, store=LocalStore(root), max_bytes=LIMIT, **kwargs)  # type: ignore[arg-type]


def types(result: ProcessingResult) -> dict[str, ColumnType]:
    return {column.name: column.type for column in result.columns}


def output_of(result: ProcessingResult, root: Path) -> str:
    assert result.output_key is not None
    return (root / result.output_key).read_bytes().decode("utf-8")


# --- Formats ----------------------------------------------------------------------------------


def test_a_csv_summary_counts_data_rows_and_names_the_columns(
    stored: Store, storage_root: Path
) -> None:
    result = run(stored(b"id,name\n1,a\n2,b\n3,c\n"), storage_root)

    assert result.rows == 3
    assert [column.name for column in result.columns] == ["id", "name"]
    assert (result.format, result.delimiter, result.encoding) == ("csv", ",", "utf-8")


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
    assert result.encoding == "utf-8-sig"
    assert output_of(result, storage_root).startswith("id,name\n")


def test_a_quoted_field_may_span_lines(stored: Store, storage_root: Path) -> None:
    result = run(stored(b'id,note\n1,"two\nlines"\n2,plain\n'), storage_root)

    assert result.rows == 2
    assert result.sample_rows[0] == ("1", "two\nlines")


def test_a_header_only_file_has_zero_rows(stored: Store, storage_root: Path) -> None:
    assert run(stored(b"a,b\n"), storage_root).rows == 0


def test_a_tsv_is_recognized_by_its_content_not_its_name(stored: Store, storage_root: Path) -> None:
    result = run(stored(b"id\tname, title\n1\tada, countess\n", name="data.csv"), storage_root)

    assert (result.format, result.delimiter) == (FileFormat.TSV, "\t")
    assert [c.name for c in result.columns] == ["id", "name, title"]
    assert output_of(result, storage_root) == 'id,"name, title"\r\n1,"ada, countess"\r\n'


def test_a_semicolon_separated_file_is_sniffed_and_normalized_to_commas(
    stored: Store, storage_root: Path
) -> None:
    result = run(stored(b"id;price\n1;3,50\n2;4,00\n"), storage_root)

    assert (result.format, result.delimiter) == (FileFormat.CSV, ";")
    assert output_of(result, storage_root) == 'id,price\r\n1,"3,50"\r\n2,"4,00"\r\n'


def test_a_comma_inside_quotes_does_not_make_comma_the_delimiter(
    stored: Store, storage_root: Path
) -> None:
    result = run(stored(b'a|b\n"x, y"|1\n"z, w"|2\n'), storage_root)

    assert result.delimiter == "|"
    assert result.sample_rows[0] == ("x, y", "1")


def test_a_single_column_file_is_one_column_of_csv(stored: Store, storage_root: Path) -> None:
    result = run(stored(b"name\nada\ngrace\n"), storage_root)

    assert [c.name for c in result.columns] == ["name"]
    assert result.rows == 2


def test_json_lines_are_recognized_and_summarized(stored: Store, storage_root: Path) -> None:
    lines = [
        {"id": 1, "name": "ada", "score": 9.5, "ok": True, "tags": ["x"]},
        {"id": 2, "name": None, "score": 7, "ok": False, "tags": []},
        {"id": 3, "score": 1.25, "ok": True, "tags": None},
    ]
    content = "\n".join(json.dumps(line) for line in lines).encode() + b"\n\n"

    result = run(stored(content, name="data.csv"), storage_root)

    assert result.format == FileFormat.JSONL
    assert result.delimiter is None
    assert result.rows == 3
    assert types(result) == {
        "id": ColumnType.INTEGER,
        "name": ColumnType.STRING,
        "score": ColumnType.FLOAT,
        "ok": ColumnType.BOOLEAN,
        "tags": ColumnType.STRING,
    }
    assert [c.nulls for c in result.columns] == [0, 2, 0, 0, 1]
    assert output_of(result, storage_root).splitlines() == [
        "id,name,score,ok,tags",
        '1,ada,9.5,true,"[""x""]"',
        "2,,7,false,[]",
        "3,,1.25,true,",
    ]


def test_nested_objects_may_repeat_keys_only_the_first_objects_own_keys_name_columns(
    stored: Store, storage_root: Path
) -> None:
    result = run(stored(b'{"x": {"y": 1, "y": 2}, "z": 1}\n'), storage_root)

    assert [c.name for c in result.columns] == ["x", "z"]


def test_a_gzip_compressed_file_is_read_through_and_hashed_as_stored(
    stored: Store, storage_root: Path
) -> None:
    content = gzip.compress(b"id\tflag\n1\ttrue\n2\tfalse\n")

    result = run(stored(content, name="plain.txt"), storage_root)

    assert (result.compression, result.format, result.rows) == ("gzip", FileFormat.TSV, 2)
    assert result.sha256 == hashlib.sha256(content).hexdigest()
    assert result.size_bytes == len(content)


def test_gzip_compressed_json_lines_are_read(stored: Store, storage_root: Path) -> None:
    result = run(stored(gzip.compress(b'{"a": 1}\n{"a": 2}\n')), storage_root)

    assert (result.compression, result.format, result.rows) == ("gzip", FileFormat.JSONL, 2)


# --- Types, nulls, ranges, samples ------------------------------------------------------------


def test_each_column_gets_the_narrowest_type_that_fits_every_value(
    stored: Store, storage_root: Path
) -> None:
    content = (
        b"i,f,b,d,dt,s,e,mixed_date\n"
        b"1,1,true,2024-01-31,2024-01-31T10:00:00,x,,2024-01-01\n"
        b"-2,2.5,FALSE,2024-02-29,2024-02-01 10:00,1,,2024-01-01T08:00:00Z\n"
        b"+3,-1e3,True,2023-12-01,2024-03-01T10:00:00+02:00,,,\n"
    )

    result = run(stored(content), storage_root)

    assert types(result) == {
        "i": ColumnType.INTEGER,
        "f": ColumnType.FLOAT,
        "b": ColumnType.BOOLEAN,
        "d": ColumnType.DATE,
        "dt": ColumnType.DATETIME,
        "s": ColumnType.STRING,
        "e": ColumnType.EMPTY,
        "mixed_date": ColumnType.DATETIME,
    }
    by_name = {c.name: c for c in result.columns}
    assert (by_name["i"].min, by_name["i"].max) == (-2, 3)
    assert (by_name["f"].min, by_name["f"].max) == (-1000, 2.5)
    assert (by_name["s"].nulls, by_name["e"].nulls) == (1, 3)
    assert by_name["d"].min is None


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["2024-02-30"], ColumnType.STRING),
        (["1_000"], ColumnType.STRING),
        (["nan"], ColumnType.STRING),
        ([" 1"], ColumnType.STRING),
        (["1", "x"], ColumnType.STRING),
        (["1", "true"], ColumnType.STRING),
        (["1234567890123456789"], ColumnType.FLOAT),
        (["\u0661\u0662"], ColumnType.STRING),
        (["1-2"], ColumnType.STRING),
    ],
    ids=[
        "impossible-date",
        "underscore",
        "nan",
        "space",
        "mixed",
        "int-bool",
        "19-digits",
        "arabic-digits",
        "dash",
    ],
)
def test_values_that_only_look_typed_are_strings_or_wider(
    stored: Store, storage_root: Path, values: list[str], expected: ColumnType
) -> None:
    content = ("v\n" + "".join(f'"{v}"\n' for v in values)).encode()

    assert types(run(stored(content), storage_root))["v"] == expected


def test_codes_with_leading_zeros_are_strings_and_zero_itself_is_a_number(
    stored: Store, storage_root: Path
) -> None:
    content = (
        b"zip,account,rate,count,small\n"
        b"08123,-007,00.5,0,0.25\n"
        b"00501,12,1.5,10,-0.5\n"
        b"90210,3,2,-0,0e3\n"
    )

    result = run(stored(content), storage_root)

    assert types(result) == {
        "zip": ColumnType.STRING,
        "account": ColumnType.STRING,
        "rate": ColumnType.STRING,
        "count": ColumnType.INTEGER,
        "small": ColumnType.FLOAT,
    }
    assert result.columns[0].min is None


def test_a_leading_zero_late_in_a_large_integer_column_makes_it_a_string(
    stored: Store, storage_root: Path
) -> None:
    content = b"code\n" + b"1234\n" * 50_000 + b"0123\n"

    assert types(run(stored(content), storage_root))["code"] == ColumnType.STRING


def test_a_value_with_a_newline_makes_its_column_a_string(
    stored: Store, storage_root: Path
) -> None:
    result = run(stored(b'n\n1\n"2\n3"\n'), storage_root)

    assert types(result)["n"] == ColumnType.STRING


def test_integers_of_up_to_18_digits_fit_64_bits_and_longer_ones_make_a_float_column(
    stored: Store, storage_root: Path
) -> None:
    longest = "9" * 18
    content = f"short,long\n-{longest},1\n{longest},1{'0' * 18}\n".encode()

    result = run(stored(content), storage_root)

    assert types(result) == {"short": ColumnType.INTEGER, "long": ColumnType.FLOAT}
    assert (result.columns[0].min, result.columns[0].max) == (-float(longest), float(longest))
    assert (result.columns[1].min, result.columns[1].max) == (1.0, 1e18)


def test_types_widen_across_batches_of_a_large_file(stored: Store, storage_root: Path) -> None:
    content = b"n\n" + b"1\n" * 50_000 + b"2.5\n" + b"3\n" * 10

    result = run(stored(content), storage_root)

    assert types(result)["n"] == ColumnType.FLOAT
    assert (result.columns[0].min, result.columns[0].max) == (1, 3)


def test_rows_and_quoted_fields_that_cross_blocks_of_text_read_the_same(
    stored: Store, storage_root: Path
) -> None:
    # A line limit of 64 bytes also makes the blocks of text 64 bytes long.
    rows = [f'{i},"note {i}\nspans, ""lines""\n{"x" * (i % 7)}",plain {i}\n' for i in range(300)]
    content = ("id,note,other\n" + "".join(rows)).encode()

    small = run(stored(content), storage_root, max_line_bytes=64)
    large = run(stored(content), storage_root)

    assert small.rows == large.rows == 300
    assert small.sample_rows == large.sample_rows
    assert output_of(small, storage_root) == output_of(large, storage_root)


def test_an_error_after_rows_that_crossed_blocks_names_its_real_line(
    stored: Store, storage_root: Path
) -> None:
    content = b"a,b\n" + b'1,"x\ny"\n' * 100 + b"1,2,3\n"

    with pytest.raises(InconsistentRows, match="Line 202 has 3 fields"):
        run(stored(content), storage_root, max_line_bytes=64)


def test_a_few_sample_rows_keep_nulls_as_none(stored: Store, storage_root: Path) -> None:
    content = b"a,b\n" + b"".join(f"{i},\n".encode() for i in range(100))

    result = run(stored(content), storage_root)

    assert result.sample_rows == tuple((str(i), None) for i in range(5))


def test_blank_lines_between_rows_are_not_rows(stored: Store, storage_root: Path) -> None:
    assert run(stored(b"a,b\n1,2\n\n3,4\n\n"), storage_root).rows == 2


@pytest.mark.parametrize(
    ("content", "fmt"),
    [
        (b"a,b\r1,2\r3,4\r", FileFormat.CSV),
        (b"a\tb\r1\t2\r3\t4", FileFormat.TSV),
        (b'{"a": 1, "b": 2}\r{"a": 3, "b": 4}\r', FileFormat.JSONL),
        (gzip.compress(b"a;b\r1;2\r3;4\r"), FileFormat.CSV),
    ],
    ids=["csv", "tsv-no-last-line-end", "jsonl", "gzip-semicolons"],
)
def test_old_mac_line_ends_a_carriage_return_alone_are_read_as_line_ends(
    stored: Store, storage_root: Path, content: bytes, fmt: FileFormat
) -> None:
    result = run(stored(content), storage_root)

    assert (result.format, result.rows) == (fmt, 2)
    assert [c.name for c in result.columns] == ["a", "b"]
    assert types(result) == {"a": ColumnType.INTEGER, "b": ColumnType.INTEGER}
    assert output_of(result, storage_root).splitlines() == ["a,b", "1,2", "3,4"]
    assert "\r" not in output_of(result, storage_root).replace("\r\n", "")


def test_a_file_with_old_mac_line_ends_is_not_its_own_normalized_output(
    stored: Store, storage_root: Path
) -> None:
    request = stored(b"a,b\r1,2\r")

    result = run(request, storage_root)

    output = storage_root / str(result.output_key)
    assert output.stat().st_ino != (storage_root / request.storage_key).stat().st_ino
    assert output.read_bytes() == b"a,b\n1,2\n"


def test_old_mac_line_ends_past_the_detected_sample_keep_their_line_numbers(
    stored: Store, storage_root: Path
) -> None:
    content = b"a,b\r" + b"1,2\r" * 50_000 + b"1\r"

    with pytest.raises(InconsistentRows, match="Line 50002 has 1 field"):
        run(stored(content), storage_root)


def test_a_file_mixing_lone_carriage_returns_with_line_feeds_is_refused_in_our_words(
    stored: Store, storage_root: Path
) -> None:
    with pytest.raises(UnsupportedFormat, match="Line 2 has a carriage return") as failure:
        run(stored(b"a,b\n1,2\r3,4\n"), storage_root)

    assert "universal-newline" not in failure.value.message


# --- Normalized output ------------------------------------------------------------------------


def test_the_normalized_output_is_written_under_a_key_derived_from_the_input(
    stored: Store, storage_root: Path
) -> None:
    request = stored(b"a\tb\n1\t2\n")

    result = run(request, storage_root)

    assert result.output_key == f"outputs/{request.storage_key}.normalized.csv"
    assert result.output_format == FileFormat.CSV
    assert output_of(result, storage_root) == "a,b\r\n1,2\r\n"


def test_a_rerun_overwrites_the_output_and_leaves_nothing_else_behind(
    stored: Store, storage_root: Path
) -> None:
    request = stored(b"a;b\n1;2\n")

    first = run(request, storage_root)
    second = run(request, storage_root)

    assert first == second
    out_dir = (storage_root / str(first.output_key)).parent
    assert [p.name for p in out_dir.iterdir()] == [Path(str(first.output_key)).name]


def test_a_stored_file_already_in_the_normalized_form_is_its_own_output_not_a_copy(
    stored: Store, storage_root: Path
) -> None:
    request = stored(b"a,b\r\n1,2\r\n")

    result = run(request, storage_root)

    output = storage_root / str(result.output_key)
    assert output.stat().st_ino == (storage_root / request.storage_key).stat().st_ino
    assert output.read_bytes() == b"a,b\r\n1,2\r\n"


@pytest.mark.parametrize(
    "content",
    [codecs.BOM_UTF8 + b"a,b\n1,2\n", gzip.compress(b"a,b\n1,2\n")],
    ids=["byte order mark", "gzip"],
)
def test_a_comma_separated_file_stored_otherwise_gets_an_output_of_its_own(
    stored: Store, storage_root: Path, content: bytes
) -> None:
    request = stored(content)

    result = run(request, storage_root)

    output = storage_root / str(result.output_key)
    assert output.stat().st_ino != (storage_root / request.storage_key).stat().st_ino
    assert output.read_bytes() == b"a,b\n1,2\n"


def test_a_file_that_fails_part_way_leaves_no_output(stored: Store, storage_root: Path) -> None:
    request = stored(b"a,b\n" + b"1,2\n" * 30_000 + b"1\n")

    with pytest.raises(InconsistentRows):
        run(request, storage_root)

    assert not (storage_root / "outputs").exists() or not any(
        p.is_file() for p in (storage_root / "outputs").rglob("*")
    )


# --- Errors: every code names the problem and, where there is one, its line ----------------


@pytest.mark.parametrize(
    ("content", "error", "where"),
    [
        (b"", EmptyFile, "empty"),
        (b" \n\r\n\n", EmptyFile, "empty"),
        (b"\xef\xbb\xbf", EmptyFile, "empty"),
        (gzip.compress(b""), EmptyFile, "empty"),
        (b"\n1,2\n", NoHeader, "Line 1"),
        (b",,\n1,2,3\n", NoHeader, "Line 1"),
        (b"1,2,3\n4,5,6\n", NoHeader, "Line 1 .*looks like data"),
        (b"{}\n", NoHeader, "Line 1 is an empty object"),
        (b"a,,c\n1,2,3\n", InvalidHeader, "Line 1: column 2 has no name"),
        (b" ,b,\t\n1,2,3\n", InvalidHeader, "Line 1: columns 1 and 3 have no name"),
        (b"a,a,b\n1,2,3\n", InvalidHeader, "Line 1 names the column 'a' twice .columns 1 and 2."),
        (b"x;a;b; a\n1;2;3;4\n", InvalidHeader, "'a' twice .columns 2 and 4."),
        (b'\n{"a": 1, "a": 2}\n', InvalidHeader, "Line 2 names the column 'a' twice"),
        (b'{"": 1, "b": 2}\n', InvalidHeader, "Line 1: column 1 has no name"),
        (b"a,b,c\n1,2,3\n4,5\n", InconsistentRows, "Line 3 has 2 fields; the header has 3"),
        (b'a,b\n"x\ny",1\n1,2,3\n', InconsistentRows, "Line 4 has 3 fields"),
        (b'{"a": 1}\n{"a": 2, "b": 3}\n', InconsistentRows, "Line 2 has the key 'b'"),
        (b'a,b\n1,"never closed\n2,3\n', UnterminatedQuote, "line 2 is never closed"),
        (b'a,b\n1,"ab"c\n', UnterminatedQuote, "Line 2 has a quote"),
        (b'"a,b\n', UnterminatedQuote, "line 1"),
        ("a\nb\ncaf\u00e9\n".encode("latin-1"), UndecodableText, "Line 3 .*byte 0xe9"),
        ("a,b\n1,2\n".encode("utf-16"), UndecodableText, "UTF-16"),
        ("a,b\n1,2\n".encode("utf-16-le"), UndecodableText, "UTF-16"),
        (b'{"a": 1}\n{"a": 2,}\n', InvalidJsonLine, "Line 2 is not valid JSON"),
        (b'{"a": 1}\n\n[1, 2]\n', InvalidJsonLine, "Line 3 is an array"),
        (b"PK\x03\x04\x14\x00\x06\x00", BinaryFile, "ZIP archive"),
        (b"%PDF-1.7\n", BinaryFile, "PDF"),
        (b"a,b\n1,\x00\x01\x02\n", BinaryFile, "line 2 contains a NUL byte"),
        (bytes(range(1, 9)) * 10, BinaryFile, "control characters"),
        (b"\x1f\x8b\x08\x00garbage-not-deflate", UnsupportedFormat, "gzip"),
        (gzip.compress(b"a,b\n1,2\n" * 100)[:-20], UnsupportedFormat, "gzip"),
    ],
    ids=[
        "empty",
        "whitespace-only",
        "bom-only",
        "empty-gzip",
        "blank-header",
        "nameless-header",
        "numeric-header",
        "empty-json-object",
        "blank-header-cell",
        "blank-header-cells",
        "duplicate-header-cell",
        "duplicate-header-cell-but-for-spaces",
        "duplicate-json-key",
        "blank-json-key",
        "short-row",
        "long-row-after-multiline",
        "json-extra-key",
        "open-quote",
        "stray-quote",
        "open-quote-in-header",
        "latin-1",
        "utf-16-bom",
        "utf-16-no-bom",
        "invalid-json",
        "json-array-line",
        "zip",
        "pdf",
        "nul-byte",
        "control-bytes",
        "bad-gzip",
        "truncated-gzip",
    ],
)
def test_a_broken_file_fails_with_its_own_error_naming_the_problem(
    stored: Store, storage_root: Path, content: bytes, error: type[ProcessingError], where: str
) -> None:
    with pytest.raises(error, match=where):
        run(stored(content), storage_root)


@pytest.mark.parametrize("ending", ["\n", "\r\n", ""], ids=["lf", "crlf", "none"])
def test_an_invalid_json_line_names_the_column_on_that_line_whatever_its_line_ending(
    stored: Store, storage_root: Path, ending: str
) -> None:
    content = f'{{"a": 1}}\n{{"a": 2{ending}'.encode()

    with pytest.raises(InvalidJsonLine, match=r"^Line 2 is not valid JSON: .* \(at column 8\)\.$"):
        run(stored(content), storage_root)


def test_a_file_over_the_size_limit_is_refused_before_it_is_parsed(
    stored: Store, storage_root: Path
) -> None:
    request = stored(b"a\n" + b"1\n" * 100)

    with pytest.raises(FileTooLarge, match="limit"):
        file_process(request=request, store=LocalStore(storage_root), max_bytes=50)


def test_a_small_gzip_file_that_expands_past_the_limit_is_refused(
    stored: Store, storage_root: Path
) -> None:
    request = stored(gzip.compress(b"a\n" + b"1\n" * 100_000))

    with pytest.raises(FileTooLarge, match="Uncompressed"):
        file_process(request=request, store=LocalStore(storage_root), max_bytes=100_000)


def gzip_bomb(*, inflated_mib: int) -> bytes:
    """A gzip file about a thousand times smaller than its text: one small member, repeated
    (a gzip file may hold several members, read one after another)."""
    member = gzip.compress(b"1,2\n" * (256 * 1024), compresslevel=9)  # 1 MiB of rows
    return gzip.compress(b"a,b\n") + member * inflated_mib


def test_a_gzip_bomb_fails_after_a_few_megabytes_of_text_not_at_the_size_limit(
    stored: Store, storage_root: Path
) -> None:
    request = stored(gzip_bomb(inflated_mib=2048))  # 2 GiB of text from about 2 MB
    seen: list[ProcessingProgress] = []

    with pytest.raises(FileTooLarge, match="more than 100 times its compressed size"):
        file_process(
            request=request,
            store=LocalStore(storage_root),
            max_bytes=4 * 1024**3,
            on_progress=seen.append,
        )

    # Rows are 4 bytes. Before it fails, B parses the text it may read before the ratio is
    # checked, or as much as 100 times what it has read ahead of the gzip stream: a few of its
    # own reads, plus the gzip module's compressed buffer (128 KiB since Python 3.12).
    read_ahead = 100 * (4 * READ_BYTES + getattr(gzip, "READ_BUFFER_SIZE", 0))
    assert max((p.rows for p in seen), default=0) <= max(GZIP_RATIO_AFTER_BYTES, read_ahead) // 4


def test_the_gzip_ratio_limit_is_a_setting_of_its_own(stored: Store, storage_root: Path) -> None:
    request = stored(gzip_bomb(inflated_mib=6))

    limits = {"store": LocalStore(storage_root), "max_bytes": 32 * 1024**2}

    with pytest.raises(FileTooLarge, match="more than 100 times"):
        file_process(request=request, **limits)  # type: ignore[arg-type]
    result = file_process(request=request, max_gzip_ratio=2000, **limits)  # type: ignore[arg-type]

    assert result.rows == 6 * 256 * 1024


def test_a_header_with_more_columns_than_the_limit_is_refused(
    stored: Store, storage_root: Path
) -> None:
    header = ",".join(f"c{i}" for i in range(11)).encode()

    with pytest.raises(TooManyColumns, match="Line 1 has 11 columns; the limit is 10"):
        run(stored(header + b"\n"), storage_root, max_columns=10)


def test_a_json_object_with_more_keys_than_the_limit_is_refused(
    stored: Store, storage_root: Path
) -> None:
    line = json.dumps({f"k{i}": i for i in range(11)}).encode()

    with pytest.raises(TooManyColumns, match="11 keys"):
        run(stored(line + b"\n"), storage_root, max_columns=10)


@pytest.mark.parametrize(
    "content",
    [b"a\n" + b"x" * 5000 + b"\n", b"a\n1\n" + b"x" * 5000, b"a\n" + b"1\n" * 300 + b"y" * 3000],
    ids=["inside", "at-the-end", "after-a-large-sample"],
)
def test_a_line_longer_than_the_limit_fails_before_it_is_held(
    stored: Store, storage_root: Path, content: bytes
) -> None:
    with pytest.raises(UnsupportedFormat, match="longer than 1,000 bytes"):
        run(stored(content), storage_root, max_line_bytes=1000)


def test_an_unclosed_quote_in_a_long_file_stops_at_the_field_limit(
    stored: Store, storage_root: Path
) -> None:
    content = b'a,b\n1,"open\n' + b"2,3\n" * 1000

    with pytest.raises(UnterminatedQuote, match="line 2 runs past"):
        run(stored(content), storage_root, max_line_bytes=1000)


def test_a_missing_file_fails_as_missing(storage_root: Path) -> None:
    with pytest.raises(FileMissing):
        run(ProcessingRequest(file_id="1", storage_key="uploads/nope.csv"), storage_root)


def test_a_key_outside_the_storage_root_is_refused_before_anything_is_read(
    storage_root: Path,
) -> None:
    (storage_root.parent / "secret.csv").write_bytes(b"a\n1\n")

    with pytest.raises(StorageKeyOutsideRoot):
        run(ProcessingRequest(file_id="1", storage_key="../secret.csv"), storage_root)


def test_every_error_code_b_raises_on_a_file_is_covered_here() -> None:
    tested = {
        EmptyFile,
        NoHeader,
        UndecodableText,
        BinaryFile,
        UnsupportedFormat,
        InconsistentRows,
        UnterminatedQuote,
        InvalidJsonLine,
        FileTooLarge,
        TooManyColumns,
        InvalidHeader,
        StorageKeyOutsideRoot,
        FileMissing,
    }
    # INVALID_REQUEST, UNSUPPORTED_SCHEMA_VERSION, PROCESSING_TIMEOUT and STORAGE_UNAVAILABLE
    # come from the task adapter (test_tasks.py); WORKER_LOST from the dead-letter watch
    # (test_dead_letters.py); NO_OUTCOME and INTERNAL_ERROR only from A.
    by_the_task = {
        ErrorCode.INVALID_REQUEST,
        ErrorCode.UNSUPPORTED_SCHEMA_VERSION,
        ErrorCode.PROCESSING_TIMEOUT,
        ErrorCode.STORAGE_UNAVAILABLE,
        ErrorCode.WORKER_LOST,
        ErrorCode.NO_OUTCOME,
        ErrorCode.INTERNAL_ERROR,
    }

    assert {cls.code for cls in tested} | by_the_task == set(ErrorCode)


# --- Progress ---------------------------------------------------------------------------------


def test_progress_is_offered_while_parsing_and_once_at_the_end(
    stored: Store, storage_root: Path
) -> None:
    rows = 1_500_000  # 3 MB: several blocks of text
    content = b"n\n" + b"1\n" * rows
    seen: list[ProcessingProgress] = []

    run(stored(content), storage_root, on_progress=seen.append)

    counts = [p.rows for p in seen]
    assert counts == sorted(counts)
    assert PROGRESS_EVERY_ROWS <= counts[0] < rows
    assert len(set(counts)) >= 3
    assert 0 < seen[0].bytes_read < seen[-1].bytes_read
    assert seen[-1].rows == rows
    assert seen[-1].bytes_read == seen[-1].bytes_total == len(content)
    assert [p.percent for p in seen].count(100) == 1


@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "gzip"])
def test_progress_shows_100_percent_only_once_the_file_is_done(
    stored: Store, storage_root: Path, compressed: bool
) -> None:
    # A gzip file's stored bytes are all read long before its text is parsed.
    content = b"n\n" + b"1\n" * 200_000
    seen: list[ProcessingProgress] = []

    run(
        stored(gzip.compress(content) if compressed else content),
        storage_root,
        on_progress=seen.append,
    )

    assert len(seen) >= 3
    assert all(p.percent < 100 for p in seen[:-1])
    assert seen[-1].percent == 100
