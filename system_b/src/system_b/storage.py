"""The shared storage volume, as System B sees it: keys resolve inside one root, or not at all."""

import functools
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from shared_schema.errors import FileMissing, StorageKeyOutsideRoot

LINK_FALLBACK_CHUNK = 1024 * 1024


@functools.lru_cache(maxsize=16)
def storage_root_resolve(root: Path) -> Path:
    """``root`` with its symlinks resolved, once per process: the root is configuration, and
    resolving walks every component of the path with a system call each (measured: 40% of
    processing a tiny file went into resolving the same root and keys over and over)."""
    return root.resolve()


def storage_resolve(*, root: Path, key: str) -> Path:
    """The absolute path of ``key`` under ``root``; refuses keys that escape it.

    Resolving follows symlinks, so a link inside the root that points outside is refused too.
    """
    if not key or "\x00" in key or os.path.isabs(key):
        raise StorageKeyOutsideRoot(f"Storage key {key!r} is not a relative path.")
    root = storage_root_resolve(root)
    path = (root / key).resolve()
    if not path.is_relative_to(root):
        raise StorageKeyOutsideRoot(f"Storage key {key!r} points outside the storage root.")
    return path


def storage_open_input(*, root: Path, key: str) -> IO[bytes]:
    path = storage_resolve(root=root, key=key)
    try:
        return path.open("rb")
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        raise FileMissing(f"No stored file at {key!r}.") from None


@contextmanager
def storage_write_atomic(*, root: Path, key: str) -> Iterator[IO[bytes]]:
    """Write ``key`` all at once: readers see the old file or the complete new one, never half.

    The temporary file sits in the destination's directory so the final ``os.replace`` is a
    rename on one file system. A re-run of the same attempt overwrites; it never duplicates.
    """
    path = storage_resolve(root=root, key=key)
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


def storage_link_atomic(*, root: Path, key: str, source: str | Path) -> None:
    """Make ``key`` the same file as the stored ``source``, replacing what ``key`` was at once.

    A hard link: the bytes are already on disk (System A synced them when it stored the upload),
    so nothing is written or synced again. Stored files are never changed in place, so sharing
    them is safe. Where the file system cannot link (another mount, no support), a copy is
    written through ``storage_write_atomic`` instead.
    """
    # A Path is a source the caller has already resolved (and so checked) under the root.
    source_path = source if isinstance(source, Path) else storage_resolve(root=root, key=source)
    path = storage_resolve(root=root, key=key)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp"
    try:
        os.link(source_path, tmp)
    except OSError:
        with storage_write_atomic(root=root, key=key) as out, source_path.open("rb") as data:
            shutil.copyfileobj(data, out, LINK_FALLBACK_CHUNK)
        return
    try:
        os.replace(tmp, path)
    finally:
        # Gone after a rename, except when ``path`` already was a link to the same file (the
        # same upload processed twice): rename(2) then does nothing and leaves both names, so
        # the temporary one would stay, keeping the data alive. Remove it either way.
        tmp.unlink(missing_ok=True)
