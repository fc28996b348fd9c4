"""Layered readers over the stored bytes: hashing and counting, then UTF-8 text in bounded blocks.

Nothing here holds more than one block (about ``max_line_bytes``) plus one partial line, so
memory stays flat however large the file is.
"""

import gzip
import hashlib
import io
import itertools
import zlib
from collections.abc import Callable, Iterator
from typing import IO

from shared_schema.errors import FileTooLarge, UndecodableText, UnsupportedFormat

READ_BYTES = 32 * 1024
"""Bytes asked of the stream per read, and so about the size of one block of text (one batch of
rows). Small enough that a batch's strings are still in the CPU cache when type inference reads
them after parsing (measured: a third less time than with 256 KiB blocks), large enough that the
per-block overhead stays out of the profile."""

GZIP_RATIO_AFTER_BYTES = 4 * 1024**2
"""Text a gzip file may inflate to before its compression ratio is checked: a small file that
compresses unusually well is no threat, and its ratio would be measured on too few bytes."""

GZIP_ERRORS = (gzip.BadGzipFile, EOFError, zlib.error)
"""What a damaged or truncated gzip stream raises. ``BadGzipFile`` is an ``OSError``: caught
here so it is not mistaken for a storage fault and retried."""


class HashingReader(io.RawIOBase):
    """A raw reader that hashes and counts every stored byte it hands on (from a stored file,
    ``shared_schema.storage.StoredFile``). What the stored file raises passes through."""

    def __init__(self, raw: io.RawIOBase, *, max_bytes: int) -> None:
        self._raw = raw
        self._max_bytes = max_bytes
        self.sha256 = hashlib.sha256()
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: "memoryview | bytearray") -> int:  # type: ignore[override]
        data = self._raw.read(len(buffer)) or b""  # None only from a non-blocking stream
        n = len(data)
        buffer[:n] = data
        self.sha256.update(data)
        self.bytes_read += n
        if self.bytes_read > self._max_bytes:
            raise FileTooLarge(f"The file is larger than the limit of {self._max_bytes:,} bytes.")
        return n


def gzip_read(stream: IO[bytes], size: int) -> bytes:
    """``stream.read(size)``, with a damaged gzip stream reported as the file's fault."""
    try:
        return stream.read(size)
    except GZIP_ERRORS as exc:
        raise UnsupportedFormat(
            f"The file is gzip-compressed, but its compressed data is damaged or cut short ({exc})."
        ) from None


class TextBlocks:
    """The stream as UTF-8 text, in blocks of whole lines.

    Blocks end at a newline byte, which never occurs inside a multi-byte UTF-8 sequence, so
    each block decodes on its own; a decoding error names its line. A line longer than
    ``max_line_bytes`` fails before it is held: reads are at most that long, so only the
    first line of a block can span reads, and it is measured as it grows.

    ``copy_to``, if given, receives each block's bytes once they are known to be UTF-8: the
    normalized output of a file that is already comma-separated UTF-8 is the file itself.

    ``compressed_bytes``, if given, says how many stored bytes a compressed file's text came
    from so far: once the text passes ``GZIP_RATIO_AFTER_BYTES`` it may not be more than
    ``max_ratio`` times that. A decompression bomb (a few MB that inflate to gigabytes of the
    same line) then fails after a few megabytes of parsing, in about a second, instead of
    holding a worker until the size limit; ordinary tables compress 3 to 20 times.

    ``cr_line_ends``: the file's lines end with a carriage return alone (old Mac OS). Every CR
    becomes an LF as it is read, before lines are measured or split, so the rest of the
    pipeline sees ordinary lines; a CR inside a quoted field becomes an LF too, as Python's
    universal newlines would have it.
    """

    def __init__(
        self,
        stream: IO[bytes],
        *,
        first: bytes,
        max_line_bytes: int,
        max_text_bytes: int,
        copy_to: Callable[[bytes], object] | None = None,
        cr_line_ends: bool = False,
        compressed_bytes: Callable[[], int] | None = None,
        max_ratio: int = 100,
    ) -> None:
        self._stream = stream
        self._cr = cr_line_ends
        self._compressed = compressed_bytes
        self._max_ratio = max_ratio
        self._copy_to = copy_to
        self._first = first
        self._max_line = max_line_bytes
        self._max_text = max_text_bytes
        self._read_size = max(1, min(READ_BYTES, max_line_bytes))
        self.lines_before = 0
        """Complete lines in the blocks already handed on."""
        self.text_bytes = 0

    def _pieces(self) -> Iterator[bytes]:
        pieces = self._read()
        return (piece.replace(b"\r", b"\n") for piece in pieces) if self._cr else pieces

    def _read(self) -> Iterator[bytes]:
        first, size = self._first, self._read_size
        for start in range(0, len(first), size):
            yield first[start : start + size]
        self._first = b""
        while data := gzip_read(self._stream, size):
            yield data

    def __iter__(self) -> Iterator[str]:
        carry = b""
        for data in self._pieces():
            self.text_bytes += len(data)
            if self.text_bytes > self._max_text:
                raise FileTooLarge(
                    f"Uncompressed, the file is larger than the limit of {self._max_text:,} bytes."
                )
            if self._compressed is not None and self.text_bytes > GZIP_RATIO_AFTER_BYTES:
                self._ratio_check()
            newline = data.find(b"\n")
            if newline == -1:
                carry += data
                if len(carry) > self._max_line:
                    self._line_too_long()
                continue
            if len(carry) + newline > self._max_line:
                self._line_too_long()
            cut = data.rfind(b"\n") + 1
            block, carry = carry + data[:cut], data[cut:]
            yield self._hand_on(block)
            self.lines_before += block.count(b"\n")
        if carry:
            yield self._hand_on(carry)

    def _hand_on(self, block: bytes) -> str:
        text = self._decode(block)
        if self._copy_to is not None:
            self._copy_to(block)
        return text

    def _ratio_check(self) -> None:
        assert self._compressed is not None
        compressed = self._compressed()
        if self.text_bytes > self._max_ratio * compressed:
            raise FileTooLarge(
                f"Uncompressed, the file grows to more than {self._max_ratio} times its "
                f"compressed size (already {self.text_bytes:,} bytes of text from "
                f"{compressed:,} compressed bytes), the limit for a gzip file. If it really "
                "is a table, upload it uncompressed."
            )

    def _line_too_long(self) -> None:
        raise UnsupportedFormat(
            f"Line {self.lines_before + 1} is longer than {self._max_line:,} bytes. Rows of a "
            "table are rarely that long: is this really CSV, TSV or JSON Lines?"
        )

    def _decode(self, block: bytes) -> str:
        try:
            return block.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = self.lines_before + block.count(b"\n", 0, exc.start) + 1
            column = exc.start - block.rfind(b"\n", 0, exc.start)
            raise UndecodableText(
                f"Line {line} is not valid UTF-8 text (byte 0x{block[exc.start]:02x} at "
                f"position {column}); the file may be saved in another encoding, such as "
                "Windows-1252 or Latin-1."
            ) from None


def text_lines(blocks: TextBlocks) -> Iterator[str]:
    """Each line of the text, with its line ending, split only at ``\\n`` (``newline=""``).

    StringIO's default ``newline="\\n"`` splits at ``\\n`` alone and keeps ``\\r``, as the csv
    module needs; chaining C iterators keeps Python out of the per-line path.
    """
    return itertools.chain.from_iterable(map(io.StringIO, blocks))
