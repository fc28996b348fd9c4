"""The processing itself: plain functions over a binary stream. No Celery here.

The file is read once, as a stream: hashing, decoding and parsing are layered readers over the
same bytes, so memory does not grow with the file.
"""

import codecs
import csv
import hashlib
import io
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO

from shared_schema.errors import (
    EmptyFile,
    FileTooLarge,
    InconsistentRows,
    NoHeader,
    UndecodableText,
    UnterminatedQuote,
)
from shared_schema.payloads import (
    ColumnSummary,
    FileFormat,
    ProcessingProgress,
    ProcessingRequest,
    ProcessingResult,
)
from system_b.storage import storage_open_input

ProgressCallback = Callable[[ProcessingProgress], None]

PROGRESS_EVERY_ROWS = 10_000
"""How often the parser offers progress; the task decides how often to publish it."""


class _HashingReader(io.RawIOBase):
    """A raw reader that hashes and counts every byte it hands on."""

    def __init__(self, raw: IO[bytes], *, max_bytes: int) -> None:
        self._raw = raw
        self._max_bytes = max_bytes
        self.sha256 = hashlib.sha256()
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: "memoryview | bytearray") -> int:  # type: ignore[override]
        data = self._raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.sha256.update(data)
        self.bytes_read += n
        if self.bytes_read > self._max_bytes:
            raise FileTooLarge(f"The file is larger than the limit of {self._max_bytes:,} bytes.")
        return n


def _no_progress(_: ProcessingProgress) -> None:
    return None


def file_process(
    *,
    request: ProcessingRequest,
    storage_root: Path,
    max_bytes: int,
    on_progress: ProgressCallback = _no_progress,
) -> ProcessingResult:
    """Validate and summarize the tabular file ``request.storage_key`` names."""
    with storage_open_input(root=storage_root, key=request.storage_key) as raw:
        size = Path(raw.name).stat().st_size if isinstance(raw.name, str) else 0
        if size > max_bytes:
            raise FileTooLarge(f"The file is {size:,} bytes; the limit is {max_bytes:,} bytes.")
        hashing = _HashingReader(raw, max_bytes=max_bytes)
        header, rows = _parse_csv(
            _decoded_lines(io.BufferedReader(hashing)),
            on_rows=lambda rows: on_progress(
                ProcessingProgress(bytes_read=hashing.bytes_read, bytes_total=size, rows=rows)
            ),
        )
    on_progress(ProcessingProgress(bytes_read=hashing.bytes_read, bytes_total=size, rows=rows))
    return ProcessingResult(
        storage_key=request.storage_key,
        sha256=hashing.sha256.hexdigest(),
        size_bytes=hashing.bytes_read,
        format=FileFormat.CSV,
        rows=rows,
        columns=tuple(ColumnSummary(name=name) for name in header),
    )


def _decoded_lines(binary: Iterable[bytes]) -> Iterator[str]:
    """UTF-8 text, one physical line at a time, so a decoding error can name its line."""
    for number, raw in enumerate(binary, start=1):
        if number == 1 and raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8) :]
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UndecodableText(
                f"Line {number} is not valid UTF-8 text (byte 0x{raw[exc.start]:02x} at "
                f"position {exc.start + 1})."
            ) from None


def _parse_csv(lines: Iterable[str], *, on_rows: Callable[[int], None]) -> tuple[list[str], int]:
    # strict=True turns an unterminated quote into csv.Error instead of a silently merged row.
    reader = csv.reader(lines, strict=True)
    rows = 0
    try:
        header = next(reader, None)
        if header is None:
            raise EmptyFile("The file is empty.")
        if not any(cell.strip() for cell in header):
            raise NoHeader("Line 1 should be a header naming each column, but it is blank.")
        for row in reader:
            if len(row) != len(header):
                raise InconsistentRows(
                    f"Line {reader.line_num} has {len(row)} fields; the header has {len(header)}."
                )
            rows += 1
            if rows % PROGRESS_EVERY_ROWS == 0:
                on_rows(rows)
    except csv.Error as exc:
        if "unexpected end of data" in str(exc) or "EOF" in str(exc):
            raise UnterminatedQuote(
                f"A quoted field opened on or before line {reader.line_num} is never closed."
            ) from None
        raise InconsistentRows(f"Line {reader.line_num} is not valid CSV: {exc}.") from None
    return header, rows
