"""The normalized output: the same table as UTF-8 CSV with a header, whatever came in.

Rows are written per RFC 4180 (comma, double quotes where needed, CRLF line ends); a file that
already is comma-separated UTF-8 is copied as it is, without a byte order mark.

Written row batch by row batch while the input is parsed, through ``storage_write_atomic``: a
failure part-way leaves no output, and a re-run of the same file replaces it. An input that is
already the output, byte for byte, is linked instead (``storage_link_atomic``), once it has
been read through.
"""

import csv
import hashlib
import io
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import IO

from shared_schema.keys import OUTPUT_PREFIX, OUTPUT_SUFFIX, output_key_of
from shared_schema.payloads import FileFormat
from system_b.storage import storage_resolve, storage_root_resolve, storage_write_atomic

OUTPUT_FORMAT = FileFormat.CSV
_MAX_KEY = 1024


def output_key_for(*, root: Path, key: str, path: Path | None = None) -> str:
    """Where the normalized output of ``key`` goes: always the same place for the same input.

    Derived from where ``key`` really is under the root (``path``, if the caller has resolved
    it already), so two spellings of one stored file share an output; a path too long for a
    key is replaced by its hash.
    """
    path = path or storage_resolve(root=root, key=key)
    relative = path.relative_to(storage_root_resolve(root))
    output = output_key_of(str(PurePosixPath(*relative.parts)))
    if len(output) > _MAX_KEY:
        digest = hashlib.sha256(str(relative).encode()).hexdigest()
        output = f"{OUTPUT_PREFIX}/{digest}{OUTPUT_SUFFIX}"
    return output


class RowWriter:
    """Writes rows as CSV, or copies text that already is the normalized form."""

    def __init__(self, binary: IO[bytes]) -> None:
        self._binary = binary
        self._text = io.TextIOWrapper(binary, encoding="utf-8", newline="")
        # CRLF, as RFC 4180 and the csv module's default have it: with a bare \n, a value
        # ending in \r would be written unquoted and read back without it.
        self._csv = csv.writer(self._text, lineterminator="\r\n")

    def copy(self, block: bytes) -> None:
        self._binary.write(block)

    def header(self, names: list[str]) -> None:
        self._csv.writerow(names)

    def rows(self, rows: Iterable[Sequence[str]]) -> None:
        self._csv.writerows(rows)

    def close(self) -> None:
        """Flush, and hand the file back to storage_write_atomic, which syncs and renames it."""
        self._text.flush()
        self._text.detach()


@contextmanager
def output_write(*, root: Path, key: str) -> Iterator[RowWriter]:
    with storage_write_atomic(root=root, key=key) as binary:
        writer = RowWriter(binary)
        yield writer
        writer.close()
