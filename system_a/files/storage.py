"""System A's side of the store (``shared_schema.storage``): uploads go in for B to read, and
B's outputs come out for the user to download.

The store is the one ``CROSSLINK_STORAGE_ROOT`` names (``settings.STORAGE_ROOT``): a directory
or an S3 bucket. Either way a failure of the store itself (``STORAGE_FAULTS``: the directory's
``OSError``, the S3 store's ``StorageUnavailable``) leaves here as ``StorageUnavailable``, the
one exception the page and the API answer with 503.
"""

import logging
import re
import uuid
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from shared_schema.errors import StorageUnavailable
from shared_schema.storage import STORAGE_FAULTS, Store, store_open

logger = logging.getLogger(__name__)

UPLOAD_PREFIX = "uploads"
# Keep a short, plain extension (".csv", ".csv.gz") for people browsing the store; B ignores it.
_SUFFIX = re.compile(r"(\.[a-z0-9]{1,8}){1,2}$")

# What a person is told when the store fails: in this project's words, never the store's
# (whose messages may name its endpoint).
UPLOAD_UNAVAILABLE_MESSAGE = (
    "File storage is not available right now, so the file was not uploaded. "
    "Try again in a few minutes."
)
DOWNLOAD_UNAVAILABLE_MESSAGE = (
    "File storage is not available right now, so the file cannot be downloaded. "
    "Try again in a few minutes."
)

CHUNK_BYTES = 1024 * 1024
"""How much of a spooled upload is read at a time on its way to the store."""


def storage_store(location: Path | str | None = None) -> Store:
    """The store at ``location``, by default the one the settings name."""
    return store_open(location if location is not None else settings.STORAGE_ROOT)


def storage_upload_key(name: str | None) -> str:
    """A fresh key for an upload called ``name``: a UUID, never the user's file name, so names
    cannot collide or escape the store; only a short extension is kept."""
    match = _SUFFIX.search((name or "").lower())
    return f"{UPLOAD_PREFIX}/{uuid.uuid4().hex}{match.group(0) if match else ''}"


def storage_unavailable(exc: BaseException, *, action: str) -> StorageUnavailable:
    """``exc``, a store fault met while trying to ``action``, logged with its details, as the
    ``StorageUnavailable`` the views answer with 503 (raise it ``from exc``)."""
    logger.warning(
        "The store failed to %s: %s", action, exc, exc_info=exc, extra={"event": "storage.failed"}
    )
    return StorageUnavailable(f"The store failed to {action}.")


class StoredUpload(UploadedFile):
    """An upload already written to the store as its request arrived (``StoreUploadHandler``
    in files/upload_handler.py): a key and a size, no bytes in this process.

    ``key`` is empty when nothing was kept (an empty file, or one over the limit: the checks
    that follow refuse those by their ``size``). Until ``storage_save_upload`` claims it, the
    stored object belongs to the request, which deletes it when it ends.
    """

    def __init__(
        self, *, key: str, name: str, size: int, content_type: str, charset: str | None
    ) -> None:
        super().__init__(
            file=None, name=name, content_type=content_type, size=size, charset=charset
        )
        self.key = key
        self.claimed = False

    def close(self) -> None:
        """Nothing is open: the request's end closes every upload, this one included."""


def storage_save_upload(
    *, upload: UploadedFile, root: Path | str | None = None, chunk_bytes: int = CHUNK_BYTES
) -> str:
    """Store ``upload`` and return its key (``storage_upload_key``); the caller owns the stored
    object from then on, and deletes it if what it stores it for fails.

    An upload that streamed into the store as it arrived (``StoredUpload``) is already there:
    it is only claimed. Any other is copied a chunk at a time through ``write_atomic``, so it
    appears whole or not at all. Raises ``StorageUnavailable`` when the store fails.
    """
    if isinstance(upload, StoredUpload):
        if not upload.key:
            raise ValueError("This upload was not kept in the store (empty, or over the limit).")
        upload.claimed = True
        return upload.key
    key = storage_upload_key(upload.name)
    try:
        with storage_store(root).write_atomic(key) as out:
            for chunk in upload.chunks(chunk_bytes):
                out.write(chunk)
    except STORAGE_FAULTS as exc:
        raise storage_unavailable(exc, action=f"store the upload {key}") from exc
    return key


def storage_delete(*, key: str, root: Path | str | None = None) -> None:
    """Delete ``key``; nothing stored there is no error. Raises ``StorageKeyOutsideRoot`` for
    a key outside the store, and the store's faults (``STORAGE_FAULTS``) as they are."""
    storage_store(root).delete(key)


def storage_discard(*, key: str, root: Path | str | None = None) -> None:
    """Delete ``key`` on the way out of something that failed: a fault of the store is logged
    (the object stays, unreferenced), never raised over the error that matters."""
    try:
        storage_delete(key=key, root=root)
    except STORAGE_FAULTS:
        logger.warning(
            "Could not delete %s from the store; it stays, referenced by nothing",
            key,
            exc_info=True,
            extra={"event": "storage.orphaned"},
        )
