"""Uploads go to the store as the request body arrives: no spooled copy, no second pass.

Django parses a multipart body a chunk at a time and hands each chunk of a file to its upload
handlers; its own keep the file in memory or spool it to a temporary file, which A would then
copy to the store. ``StoreUploadHandler`` writes each chunk into ``store.write_atomic`` instead
(a temporary file beside the final name, or an S3 multipart upload sent a part at a time), so
an upload of any size holds at most one part in memory and appears in the store whole or not at
all. https://docs.djangoproject.com/en/5.2/topics/http/file-uploads/#upload-handlers

It is installed per request on the upload routes only (``uploads_to_store``), after the checks
that need no body (size declared, quota) and before anything reads the body. What a request
stored and did not hand over to a ``File`` (a refused upload, an error) is deleted when the
block ends, and a write an error cut off is aborted.
"""

import logging
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import IO

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.http import HttpRequest

from files.storage import (
    StoredUpload,
    storage_discard,
    storage_store,
    storage_unavailable,
    storage_upload_key,
)
from shared_schema.storage import STORAGE_FAULTS, Store

logger = logging.getLogger(__name__)

UPLOAD_FIELD = "file"
"""The form field and API field an upload comes in; a file in any other field is not stored."""


class _Aborted(Exception):
    """Thrown into a write to make it leave nothing behind."""


class StoreUploadHandler(FileUploadHandler):
    """Streams the upload field's file into ``store``; every other file part is skipped unread
    into nothing. Store faults leave as ``StorageUnavailable``, with the write aborted."""

    # Fewer, larger chunks than Django's 64 KiB: less per-chunk work on a large file; the S3
    # store gathers them into parts of its own size anyway.
    chunk_size = 256 * 1024

    def __init__(self, request: HttpRequest, *, store: Store) -> None:
        super().__init__(request)
        self.store = store
        self.uploads: list[StoredUpload] = []
        """What this request stored, claimed or not."""
        self._writing: AbstractContextManager[IO[bytes]] | None = None
        self._out: IO[bytes] | None = None
        self._key = ""
        self._size = 0

    def new_file(self, field_name: str, file_name: str, *args: object, **kwargs: object) -> None:
        super().new_file(field_name, file_name, *args, **kwargs)  # type: ignore[arg-type]
        if field_name != UPLOAD_FIELD or self.uploads or self._writing is not None:
            raise SkipFile()  # one upload per request, in its field; Django reads past the rest
        self._key = storage_upload_key(file_name)
        self._size = 0
        writing = self.store.write_atomic(self._key)
        try:
            self._out = writing.__enter__()
        except STORAGE_FAULTS as exc:
            raise storage_unavailable(exc, action=f"begin storing {self._key}") from exc
        self._writing = writing

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self._size += len(raw_data)
        if self._out is None:
            return None  # over the limit: counted, not stored
        if self._size > settings.MAX_UPLOAD_BYTES:
            # The checks after parsing refuse it by its size; the store keeps none of it.
            self._abort()
            return None
        try:
            self._out.write(raw_data)
        except STORAGE_FAULTS as exc:
            self._abort()
            raise storage_unavailable(exc, action=f"store {self._key}") from exc
        return None

    def file_complete(self, file_size: int) -> StoredUpload:
        key = ""
        if self._writing is not None and file_size > 0:
            writing, self._writing, self._out = self._writing, None, None
            try:
                # Completes the write: renamed into place, or the S3 upload completed. A
                # failure here has already undone the write.
                writing.__exit__(None, None, None)
            except STORAGE_FAULTS as exc:
                raise storage_unavailable(exc, action=f"store {self._key}") from exc
            key = self._key
        else:
            self._abort()  # empty: the form refuses it, so nothing is kept
        upload = StoredUpload(
            key=key,
            name=self.file_name or "",
            size=file_size,
            content_type=self.content_type or "",
            charset=self.charset,
        )
        self.uploads.append(upload)
        return upload

    def upload_interrupted(self) -> None:
        """The body ended inside the file (the client went away): nothing of it is kept."""
        self._abort()

    def _abort(self) -> None:
        writing, self._writing, self._out = self._writing, None, None
        if writing is None:
            return
        error = _Aborted()
        try:
            writing.__exit__(_Aborted, error, None)
        except Exception:  # best effort: a partial write is never visible anyway
            logger.warning("Could not abort the write of %s", self._key, exc_info=True)


@contextmanager
def uploads_to_store(request: HttpRequest) -> Iterator[StoreUploadHandler]:
    """Within the block, an upload in ``request`` goes to the store as its body is read (the
    block must come before anything reads it: ``request.POST``, ``request.FILES``, DRF's
    ``request.data``, a CSRF check). On the way out, a write an error cut off is aborted and
    whatever was stored but not claimed (``storage_save_upload``) is deleted."""
    handler = StoreUploadHandler(request, store=storage_store())
    request.upload_handlers = [handler]
    try:
        yield handler
    finally:
        handler.upload_interrupted()
        for upload in handler.uploads:
            if upload.key and not upload.claimed:
                storage_discard(key=upload.key)
