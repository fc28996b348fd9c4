"""The processing itself: plain functions over a stored file. No Celery here.

The file is read once, as a stream: hashing, decompression, decoding, parsing, type inference
and the normalized output are layers over the same bytes, each holding a bounded amount, so
memory does not grow with the file. The pieces:

``streams``   hashing and counting reader; UTF-8 text in blocks of whole lines
``detect``    gzip, binary, encoding and format, from the first bytes
``formats``   CSV/TSV and JSON Lines readers: a header, then batches of checked rows
``infer``     per-column type, nulls and range, a batch at a time
``normalize`` the UTF-8 CSV copy, written atomically

The store (``shared_schema.storage``: a directory or S3-compatible object storage) is the only
way in or out: the input is its stream, the output its atomic write or its copy.
"""

import contextlib
import gc
import gzip
import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO

from shared_schema.errors import FileTooLarge
from shared_schema.payloads import (
    FileFormat,
    ProcessingProgress,
    ProcessingRequest,
    ProcessingResult,
)
from shared_schema.storage import Store
from system_b.detect import GZIP_MAGIC, SAMPLE_BYTES, Detected, detect_text
from system_b.formats import Table
from system_b.formats.delimited import delimited_table
from system_b.formats.jsonl import jsonl_table
from system_b.infer import ColumnProfile
from system_b.normalize import OUTPUT_FORMAT, output_key_for, output_write
from system_b.streams import READ_BYTES, HashingReader, TextBlocks, gzip_read, text_lines

ProgressCallback = Callable[[ProcessingProgress], None]

PROGRESS_EVERY_ROWS = 10_000
"""How often the parser offers progress; the task decides how often to publish it."""

SAMPLE_ROWS = 5

DEFAULT_MAX_COLUMNS = 1000
DEFAULT_MAX_LINE_BYTES = 1024**2
DEFAULT_MAX_GZIP_RATIO = 100


def _no_progress(_: ProcessingProgress) -> None:
    return None


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while the file is processed.

    Every row is a fresh list that lives for a batch: enough allocations to set off collection
    after collection, which scan every surviving row and find nothing (rows hold strings, never
    cycles). Reference counting frees them all the same. Measured: a third less CPU.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def file_process(
    *,
    request: ProcessingRequest,
    store: Store,
    max_bytes: int,
    max_columns: int = DEFAULT_MAX_COLUMNS,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    max_gzip_ratio: int = DEFAULT_MAX_GZIP_RATIO,
    on_progress: ProgressCallback = _no_progress,
) -> ProcessingResult:
    """Check, summarize and normalize the tabular file ``request.storage_key`` names.

    Raises a ``ProcessingError`` naming the problem (and its line) for a file that cannot be
    read as a table. A fault of the store itself (``shared_schema.storage.STORAGE_FAULTS``: the
    local store's ``OSError``, the S3 store's ``StorageUnavailable``) propagates as it is, for
    the caller to retry: nothing on the way from the store catches it.
    """
    with _gc_paused(), store.open_read(request.storage_key) as raw:
        size = raw.size
        if size > max_bytes:
            raise FileTooLarge(f"The file is {size:,} bytes; the limit is {max_bytes:,} bytes.")
        hashing = HashingReader(raw, max_bytes=max_bytes)
        buffered = io.BufferedReader(hashing, buffer_size=READ_BYTES)
        compressed = buffered.peek(len(GZIP_MAGIC)).startswith(GZIP_MAGIC)
        stream: IO[bytes] = (
            gzip.GzipFile(fileobj=buffered, mode="rb") if compressed else buffered  # type: ignore[assignment]
        )
        sample = gzip_read(stream, SAMPLE_BYTES)
        detected = detect_text(sample, at_eof=len(sample) < SAMPLE_BYTES)
        # The opened file's key, in the store's canonical form: one output per stored file.
        output_key = output_key_for(raw.key)
        # A file that already is comma-separated UTF-8 is its own normalized form: its text is
        # copied rather than written again row by row. Stored as it is (no gzip, no byte order
        # mark, LF or CR LF line ends), its bytes do not even pass through here: once it is
        # read, the store makes the output the same bytes (a hard link, a server-side copy).
        copy = detected.format is FileFormat.CSV and detected.delimiter == ","
        link = (
            copy and not compressed and detected.encoding == "utf-8" and not detected.cr_line_ends
        )
        samples: list[tuple[str | None, ...]] = []
        rows = next_report = 0

        def progress() -> ProcessingProgress:
            # Reading runs ahead of parsing (buffers, and gzip's own read-ahead), so the stored
            # bytes read can all be in before the work is done: short of the end, progress
            # stops one byte short of the total, so it shows 100% only when the file is done.
            read = min(hashing.bytes_read, max(size - 1, 0))
            return ProcessingProgress(bytes_read=read, bytes_total=size, rows=rows)

        with contextlib.ExitStack() as stack:
            out = None if link else stack.enter_context(output_write(store=store, key=output_key))
            blocks = TextBlocks(
                stream,
                first=detected.sample,
                max_line_bytes=max_line_bytes,
                max_text_bytes=max_bytes,
                copy_to=out.copy if out is not None and copy else None,
                cr_line_ends=detected.cr_line_ends,
                compressed_bytes=(lambda: hashing.bytes_read) if compressed else None,
                max_ratio=max_gzip_ratio,
            )
            table = _table(detected, blocks, max_columns=max_columns, max_line_bytes=max_line_bytes)
            profiles = [ColumnProfile(name) for name in table.header]
            rewrite = None if copy else out
            if rewrite is not None:
                rewrite.header(table.header)
            for batch in table.batches:
                if rewrite is not None:
                    rewrite.rows(batch.rows())
                for profile, values in zip(profiles, batch.columns, strict=True):
                    profile.add(values)
                if len(samples) < SAMPLE_ROWS:
                    samples.extend(
                        tuple(value or None for value in row)
                        for row in batch.rows(SAMPLE_ROWS - len(samples))
                    )
                rows += len(batch)
                if rows >= next_report:
                    on_progress(progress())
                    next_report = rows + PROGRESS_EVERY_ROWS
        # Whatever follows the text (a gzip trailer) is part of the file and of its checksum.
        while buffered.read(READ_BYTES):
            pass
        if link:
            store.copy(key=output_key, source=raw.key)
    on_progress(ProcessingProgress(bytes_read=hashing.bytes_read, bytes_total=size, rows=rows))
    return ProcessingResult(
        storage_key=request.storage_key,
        sha256=hashing.sha256.hexdigest(),
        size_bytes=hashing.bytes_read,
        format=detected.format,
        rows=rows,
        columns=tuple(profile.summary() for profile in profiles),
        output_key=output_key,
        sample_rows=tuple(samples),
        encoding=detected.encoding,
        compression="gzip" if compressed else None,
        delimiter=detected.delimiter,
        output_format=OUTPUT_FORMAT,
    )


def _table(
    detected: Detected, blocks: TextBlocks, *, max_columns: int, max_line_bytes: int
) -> Table:
    if detected.format is FileFormat.JSONL:
        return jsonl_table(text_lines(blocks), max_columns=max_columns)
    assert detected.delimiter is not None
    return delimited_table(
        blocks,
        delimiter=detected.delimiter,
        max_columns=max_columns,
        max_field_chars=max_line_bytes,
        lines_before=lambda: blocks.lines_before,
    )
