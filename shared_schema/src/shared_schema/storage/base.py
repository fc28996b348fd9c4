"""What every store offers: the operations System A and System B need, and nothing more."""

import io
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import IO, Protocol

COPY_CHUNK_BYTES = 1024 * 1024


class StoredFile(io.RawIOBase):
    """A stored file open for reading: a raw binary stream that knows its size and its key.

    ``key`` is the canonical key (``Store.canonical``), the one every derived key (the output's)
    is computed from; ``size`` is the stored size in bytes, known before a byte is read.
    """

    def __init__(self, *, key: str, size: int) -> None:
        super().__init__()
        self.key = key
        self.size = size

    def readable(self) -> bool:
        return True


class Store(Protocol):
    """A place files are kept under keys. Keys are relative ``/``-separated paths; a key that
    would leave the store's root is refused with ``StorageKeyOutsideRoot``, a key with nothing
    stored under it with ``FileMissing``."""

    def canonical(self, key: str) -> str:
        """``key`` in its one canonical spelling; two spellings of one stored file share it."""
        ...

    def open_read(self, key: str) -> AbstractContextManager[StoredFile]:
        """The file stored at ``key``, streamed: nothing is read before it is asked for."""
        ...

    def write_atomic(self, key: str) -> AbstractContextManager[IO[bytes]]:
        """A stream whose bytes become ``key`` all at once when the block ends without an
        error: readers see the old file or the complete new one, never part of one; a block
        that raises leaves nothing. Writing the same key again replaces it."""
        ...

    def copy(self, *, key: str, source: str) -> None:
        """Make ``key`` hold the same bytes as the stored ``source``, without moving them
        through this process where the store can (a hard link, a server-side copy)."""
        ...

    def delete(self, key: str) -> None:
        """Remove ``key``; nothing stored there is no error."""
        ...


def store_save(store: Store, *, key: str, stream: IO[bytes]) -> int:
    """Write all of ``stream`` to ``key`` atomically, a chunk at a time; returns its size."""
    size = 0
    with store.write_atomic(key) as out:
        for chunk in _chunks(stream):
            out.write(chunk)
            size += len(chunk)
    return size


def _chunks(stream: IO[bytes]) -> Iterator[bytes]:
    while chunk := stream.read(COPY_CHUNK_BYTES):
        yield chunk
