"""The normalized output: the same table as UTF-8 CSV with a header, whatever came in.

Rows are written per RFC 4180 (comma, double quotes where needed, CRLF line ends); a file that
already is comma-separated UTF-8 is copied as it is, without a byte order mark.

Written row batch by row batch while the input is parsed, through the store's
``write_atomic``: a failure part-way leaves no output, and a re-run of the same file replaces
it. An input that is already the output, byte for byte, is copied by the store instead
(``Store.copy``: a hard link on a directory, a server-side copy on S3), once it has been read
through.
"""

import csv
import hashlib
import io
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import IO

from shared_schema.keys import OUTPUT_PREFIX, OUTPUT_SUFFIX, output_key_of
from shared_schema.payloads import FileFormat
from shared_schema.storage import Store

OUTPUT_FORMAT = FileFormat.CSV
_MAX_KEY = 1024


def output_key_for(canonical: str) -> str:
    """Where the normalized output of the stored file ``canonical`` goes: always the same place
    for the same input.

    ``canonical`` is the input's key in the store's canonical form (``Store.canonical``, or
    ``StoredFile.key``), so two spellings of one stored file share an output; a key too long
    for the output's is replaced by its hash.
    """
    output = output_key_of(canonical)
    if len(output) > _MAX_KEY:
        digest = hashlib.sha256(canonical.encode()).hexdigest()
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
        """Flush, and hand the stream back to the store's ``write_atomic``, which makes it the
        output whole (a rename, or the upload's last request)."""
        self._text.flush()
        self._text.detach()


@contextmanager
def output_write(*, store: Store, key: str) -> Iterator[RowWriter]:
    with store.write_atomic(key) as binary:
        writer = RowWriter(binary)
        yield writer
        writer.close()
