"""A directory as the store: the default, a volume every system mounts at the same root.

Keys resolve inside the root or not at all (symlinks are followed, so a link inside the root
that points outside is refused too). Files appear under their final names only when complete:
written to a temporary file beside the destination, synced, then renamed over it.
"""

import functools
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import IO

from shared_schema.errors import FileMissing, StorageKeyOutsideRoot
from shared_schema.storage.base import COPY_CHUNK_BYTES, StoredFile


class LocalFile(StoredFile):
    def __init__(self, raw: IO[bytes], *, key: str, size: int) -> None:
        super().__init__(key=key, size=size)
        self._raw = raw

    def readinto(self, buffer: "memoryview | bytearray") -> int:  # type: ignore[override]
        return self._raw.readinto(buffer)  # type: ignore[attr-defined, no-any-return]

    def close(self) -> None:
        self._raw.close()
        super().close()


class LocalStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def __repr__(self) -> str:
        return f"LocalStore({str(self.root)!r})"

    def resolve(self, key: str) -> Path:
        """The absolute path of ``key`` under the root; refuses keys that escape it."""
        if not key or "\x00" in key or os.path.isabs(key):
            raise StorageKeyOutsideRoot(f"Storage key {key!r} is not a relative path.")
        root = _resolved(self.root)
        path = (root / key).resolve()
        if not path.is_relative_to(root) or path == root:
            raise StorageKeyOutsideRoot(f"Storage key {key!r} points outside the storage root.")
        return path

    def canonical(self, key: str) -> str:
        return self._key_of(self.resolve(key))

    @contextmanager
    def open_read(self, key: str) -> Iterator[StoredFile]:
        path = self.resolve(key)
        try:
            raw = path.open("rb", buffering=0)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise FileMissing(f"No stored file at {key!r}.") from None
        with LocalFile(raw, key=self._key_of(path), size=os.fstat(raw.fileno()).st_size) as file:
            yield file

    @contextmanager
    def write_atomic(self, key: str) -> Iterator[IO[bytes]]:
        """The temporary file sits in the destination's directory, so the final ``os.replace``
        is a rename within one file system."""
        path = self.resolve(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as tmp:
                yield tmp
                tmp.flush()
                os.fsync(tmp.fileno())
            os.replace(tmp_name, path)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise

    def copy(self, *, key: str, source: str) -> None:
        """A hard link: the bytes are already on disk, synced when they were stored, so nothing
        is written or synced again. Stored files are never changed in place, so sharing them is
        safe. Where the file system cannot link (another mount, no support), a copy is written
        through ``write_atomic`` instead."""
        source_path = self.resolve(source)
        path = self.resolve(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp"
        try:
            os.link(source_path, tmp)
        except OSError:
            with self.write_atomic(key) as out, source_path.open("rb") as data:
                shutil.copyfileobj(data, out, COPY_CHUNK_BYTES)
            return
        try:
            os.replace(tmp, path)
        finally:
            # Gone after a rename, except when ``path`` already was a link to the same file (the
            # same upload processed twice): rename(2) then does nothing and leaves both names, so
            # the temporary one would stay, keeping the data alive. Remove it either way.
            tmp.unlink(missing_ok=True)

    def delete(self, key: str) -> None:
        self.resolve(key).unlink(missing_ok=True)

    def _key_of(self, path: Path) -> str:
        return str(PurePosixPath(*path.relative_to(_resolved(self.root)).parts))


@functools.lru_cache(maxsize=16)
def _resolved(root: Path) -> Path:
    """``root`` with its symlinks resolved, once per process: the root is configuration, and
    resolving walks every component of the path with a system call each (measured: 40% of
    processing a tiny file went into resolving the same root and keys over and over)."""
    return root.resolve()
