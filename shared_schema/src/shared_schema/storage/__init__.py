"""Where stored files live, as every system reaches them: one directory, or an S3 bucket.

One setting chooses the store, with the same value in every system: ``CROSSLINK_STORAGE_ROOT``
is a directory (the default, for the demo and the tests: a volume all systems mount) or
``s3://bucket/prefix`` (object storage: AWS S3, MinIO, Ceph; endpoint and credentials from the
standard ``AWS_*`` variables). A storage key means the same in both: a relative, ``/``-separated
path under the root, or under the bucket's prefix.

The local store is plain ``os`` calls; the S3 store needs the ``s3`` extra (boto3) and is
imported only when a location names it, so a system on a directory never loads boto3.
"""

import functools
from pathlib import Path

from shared_schema.errors import StorageUnavailable
from shared_schema.storage.base import Store, StoredFile, store_save
from shared_schema.storage.local import LocalStore

S3_SCHEME = "s3://"

STORAGE_FAULTS: tuple[type[Exception], ...] = (OSError, StorageUnavailable)
"""What a store raises when storage itself fails, not the file: the local store lets the
operating system's ``OSError`` out, the S3 store raises ``StorageUnavailable``. Both are worth
a retry; neither is the user's fault."""

__all__ = [
    "STORAGE_FAULTS",
    "LocalStore",
    "Store",
    "StoredFile",
    "store_is_s3",
    "store_open",
    "store_save",
]


def store_is_s3(location: str | Path) -> bool:
    return str(location).startswith(S3_SCHEME)


@functools.lru_cache(maxsize=8)
def store_open(location: str | Path) -> Store:
    """The store ``location`` names (``CROSSLINK_STORAGE_ROOT``'s value): one per location and
    process. Opening connects to nothing; the first read or write does."""
    if store_is_s3(location):
        from shared_schema.storage.s3 import S3Store  # needs the s3 extra

        return S3Store.from_url(str(location))
    return LocalStore(Path(location))
