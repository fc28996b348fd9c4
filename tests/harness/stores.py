"""The store as a test sees it, the same calls for the local directory and for S3: put a file in
place, look at what was stored, and take the store away for a while.

A test looks at the store directly (the directory, or the server as the harness's admin user),
never through the ``shared_schema.storage`` code it is testing.
"""

import contextlib
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from harness.s3 import OUTPUTS, UPLOADS, ObjectStorage


class StoreView(Protocol):
    kind: str
    """"local" or "s3": the test's parameter."""

    @property
    def location(self) -> str: ...

    def env(self, system: str) -> dict[str, str]:
        """The variables that point ``system``'s processes at the store."""
        ...

    def put_file(self, key: str, path: Path) -> None:
        """Store the file at ``path`` under ``key`` (and remove ``path``)."""
        ...

    def size(self, key: str) -> int | None:
        """The stored size of ``key``, or None when nothing is stored there."""
        ...

    def keys(self, prefix: str) -> set[str]:
        """Every key stored under ``prefix`` (``uploads``, ``outputs``)."""
        ...

    def partial_writes(self) -> list[str]:
        """Writes begun and never finished: the local store's temporary files, S3's open
        multipart uploads."""
        ...

    def delete(self, key: str) -> None: ...

    def down(self, *, keep_reads: bool = False) -> contextlib.AbstractContextManager[None]:
        """The store fails every request for the block (``keep_reads``: at least every write),
        and is back, with everything it held, after it."""
        ...


@dataclass
class LocalStoreView:
    root: Path
    kind: str = "local"

    @property
    def location(self) -> str:
        return str(self.root)

    def env(self, system: str) -> dict[str, str]:
        return {"CROSSLINK_STORAGE_ROOT": str(self.root)}

    def put_file(self, key: str, path: Path) -> None:
        target = self.root / key
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(path, target)

    def size(self, key: str) -> int | None:
        path = self.root / key
        return path.stat().st_size if path.is_file() else None

    def keys(self, prefix: str) -> set[str]:
        base = self.root / prefix
        if not base.is_dir():
            return set()
        return {
            str(path.relative_to(self.root))
            for path in base.rglob("*")
            if path.is_file() and not path.name.endswith(".tmp")
        }

    def partial_writes(self) -> list[str]:
        return [str(path.relative_to(self.root)) for path in self.root.rglob("*.tmp")]

    def delete(self, key: str) -> None:
        (self.root / key).unlink(missing_ok=True)

    @contextlib.contextmanager
    def down(self, *, keep_reads: bool = False) -> Iterator[None]:
        """A directory cannot be made unreachable for root, so the folders that are written are
        swapped for plain files: creating anything in them fails with an ``OSError``, as on a
        mount that went away. (With ``keep_reads`` the uploads stay readable: only outputs.)"""
        folders = [OUTPUTS] if keep_reads else [UPLOADS, OUTPUTS]
        moved = []
        try:
            for folder in folders:
                path = self.root / folder
                path.mkdir(parents=True, exist_ok=True)
                aside = self.root / f".{folder}.away"
                path.rename(aside)
                moved.append((path, aside))
                path.write_bytes(b"")
            yield
        finally:
            for path, aside in moved:
                path.unlink(missing_ok=True)
                aside.rename(path)


@dataclass
class S3StoreView:
    storage: ObjectStorage
    kind: str = "s3"

    @property
    def location(self) -> str:
        return self.storage.location

    def env(self, system: str) -> dict[str, str]:
        return self.storage.env(system)

    def put_file(self, key: str, path: Path) -> None:
        self.storage.admin_client().upload_file(
            str(path), self.storage.bucket, self.storage.name(key)
        )
        path.unlink()

    def size(self, key: str) -> int | None:
        client = self.storage.admin_client()
        try:
            head = client.head_object(Bucket=self.storage.bucket, Key=self.storage.name(key))
        except client.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return int(head["ContentLength"])

    def keys(self, prefix: str) -> set[str]:
        pages = (
            self.storage.admin_client()
            .get_paginator("list_objects_v2")
            .paginate(Bucket=self.storage.bucket, Prefix=self.storage.name(f"{prefix}/"))
        )
        strip = len(self.storage.name(""))
        return {item["Key"][strip:] for page in pages for item in page.get("Contents", [])}

    def partial_writes(self) -> list[str]:
        listed = self.storage.admin_client().list_multipart_uploads(
            Bucket=self.storage.bucket, Prefix=self.storage.name("")
        )
        return [upload["Key"] for upload in listed.get("Uploads", [])]

    def delete(self, key: str) -> None:
        self.storage.admin_client().delete_object(
            Bucket=self.storage.bucket, Key=self.storage.name(key)
        )

    @contextlib.contextmanager
    def down(self, *, keep_reads: bool = False) -> Iterator[None]:
        """Unreachable: the proxy cuts every connection and refuses new ones. The server keeps
        running, and everything it holds."""
        with self.storage.proxy.down():
            yield
