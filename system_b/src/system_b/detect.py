"""What a stored file is, from its first bytes: never from its name.

Decides compression (gzip), whether it is text at all, its encoding (UTF-8, with or without a
byte order mark; anything else fails clearly), its line ends (LF, CR LF, or CR alone) and its
format: JSON Lines when the first thing in it is a JSON object, otherwise delimited text whose
delimiter is sniffed from the sample.
"""

import codecs
import contextlib
import csv
import io
import itertools
from dataclasses import dataclass

from shared_schema.errors import BinaryFile, EmptyFile, UndecodableText
from shared_schema.payloads import FileFormat

GZIP_MAGIC = b"\x1f\x8b"

SAMPLE_BYTES = 64 * 1024
"""How much of the (uncompressed) file detection looks at."""

SNIFF_ROWS = 50

DELIMITERS = (",", "\t", ";", "|")
"""Candidate delimiters, in order of preference when two fit equally well."""

_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "a ZIP archive (an Excel .xlsx or OpenDocument file is one)"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Microsoft Office document (.xls)"),
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"BZh", "a bzip2 archive"),
    (b"\xfd7zXZ\x00", "an xz archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"PAR1", "a Parquet file"),
)

_OTHER_BOMS: tuple[tuple[bytes, str], ...] = (
    # UTF-32 first: its little-endian BOM starts with UTF-16's.
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)

# Bytes that plain text does not contain: C0 controls other than tab, newline, form feed, CR, ESC.
_CONTROL = bytes(set(range(32)) - {9, 10, 11, 12, 13, 27}) + b"\x7f"
_CONTROL_SHARE = 0.1


@dataclass(frozen=True)
class Detected:
    format: FileFormat
    encoding: str
    """``utf-8``, or ``utf-8-sig`` when the file starts with a byte order mark."""
    delimiter: str | None
    sample: bytes
    """The sample with any byte order mark removed: the start of the text to parse."""
    cr_line_ends: bool = False
    """Lines end with a carriage return alone (old Mac OS): the sample has CRs and no LF."""


def detect_text(sample: bytes, *, at_eof: bool) -> Detected:
    """Format and encoding of a file whose uncompressed content starts with ``sample``."""
    for bom, name in _OTHER_BOMS:
        if sample.startswith(bom):
            raise UndecodableText(
                f"The file is {name} text; only UTF-8 is read. "
                "Save it as UTF-8 and upload it again."
            )
    encoding = "utf-8"
    if sample.startswith(codecs.BOM_UTF8):
        sample, encoding = sample[len(codecs.BOM_UTF8) :], "utf-8-sig"
    if at_eof and not sample.strip():
        raise EmptyFile("The file is empty: it has no text at all.")
    _refuse_binary(sample)
    # A CR with no LF anywhere in the sample: old Mac OS line ends. Each CR is read as a line
    # end, as Python's universal newlines would; see streams.TextBlocks.
    cr = b"\r" in sample and b"\n" not in sample
    text = sample.decode("utf-8", errors="replace")
    if cr:
        text = text.replace("\r", "\n")
    if not at_eof:
        # The sample may end mid-line, or mid-row: sniff complete lines only.
        text = text[: text.rfind("\n") + 1] or text
    if text.lstrip().startswith("{"):
        return Detected(
            format=FileFormat.JSONL,
            encoding=encoding,
            delimiter=None,
            sample=sample,
            cr_line_ends=cr,
        )
    delimiter = delimiter_sniff(text)
    return Detected(
        format=FileFormat.TSV if delimiter == "\t" else FileFormat.CSV,
        encoding=encoding,
        delimiter=delimiter,
        sample=sample,
        cr_line_ends=cr,
    )


def _refuse_binary(sample: bytes) -> None:
    for signature, what in _SIGNATURES:
        if sample.startswith(signature):
            raise BinaryFile(f"The file is {what}, not text.")
    nul = sample.find(b"\x00")
    if nul != -1:
        if len(sample) > 1 and (sample[0] == 0) != (sample[1] == 0):
            raise UndecodableText(
                "The file looks like UTF-16 text (every other byte is zero); only UTF-8 is read. "
                "Save it as UTF-8 and upload it again."
            )
        line = sample.count(b"\n", 0, nul) + 1
        raise BinaryFile(f"The file is not text: line {line} contains a NUL byte.")
    controls = len(sample) - len(sample.translate(None, _CONTROL))
    if sample and controls / len(sample) > _CONTROL_SHARE:
        raise BinaryFile(
            f"The file is not text: {controls:,} of its first {len(sample):,} bytes are "
            "control characters."
        )


def delimiter_sniff(text: str) -> str:
    """The delimiter that splits the sample's rows most consistently into several fields.

    Rows are parsed as CSV with each candidate, quotes and all, so a delimiter that appears
    only inside quoted fields or only in some rows loses. Between two that fit equally well,
    the one whose fields less often start with a space wins: a comma in prose is followed by
    one, a delimiter rarely is. A file no candidate splits is one column of comma-separated
    values.
    """
    best, best_score = ",", (0.0, -1.0)
    for delimiter in DELIMITERS:
        rows = _rows(text, delimiter)
        if not rows or len(rows[0]) < 2:
            continue
        consistent = sum(len(row) == len(rows[0]) for row in rows) / len(rows)
        fields = [field for row in rows for field in row]
        spaced = sum(field[:1].isspace() for field in fields) / len(fields)
        score = (consistent, -spaced)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _rows(text: str, delimiter: str) -> list[list[str]]:
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    rows: list[list[str]] = []
    # The rows before a problem still count; the parser reports the problem itself.
    with contextlib.suppress(csv.Error):
        rows.extend(row for row in itertools.islice(reader, SNIFF_ROWS) if row)
    return rows
