"""Serving System B's normalized output, for the page and the API alike."""

import logging
from contextlib import ExitStack
from pathlib import PurePosixPath
from typing import Any

from django.http import FileResponse

from files import selectors
from files.models import File
from files.storage import CHUNK_BYTES, storage_store, storage_unavailable
from shared_schema.errors import FileMissing, StorageKeyOutsideRoot
from shared_schema.storage import STORAGE_FAULTS, StoredFile

logger = logging.getLogger(__name__)


def file_output_response(*, file: File) -> "StoredFileResponse | None":
    """The normalized output as an attachment named after the upload (``people.normalized.csv``),
    streamed from the store a chunk at a time with its stored size as Content-Length; ``None``
    when the file has none (not processed yet, B wrote no output, or it is gone from the store).

    Raises ``StorageUnavailable`` when the store fails (the page and the API answer 503).
    """
    key = selectors.file_output_key(file=file)
    if key is None:
        return None
    with ExitStack() as opened:
        try:
            stored = opened.enter_context(storage_store().open_read(key))
        except FileMissing:
            return None
        except StorageKeyOutsideRoot:
            logger.warning("File %s: the store refuses its output key %r", file.pk, key)
            return None
        except STORAGE_FAULTS as exc:
            raise storage_unavailable(exc, action=f"read {key}") from exc
        stem = PurePosixPath(file.original_name).stem or "file"
        suffix = PurePosixPath(key).suffix or ".csv"
        response = StoredFileResponse(
            stored, as_attachment=True, filename=f"{stem}.normalized{suffix}"
        )
        # From here the response holds the file open, and closes it once sent.
        response.opened = opened.pop_all()
    return response


class StoredFileResponse(FileResponse):
    """A stored file, streamed a chunk at a time, with its stored size as Content-Length (a
    stored file cannot seek, so FileResponse cannot measure it; the store knows)."""

    block_size = CHUNK_BYTES

    def __init__(self, stored: StoredFile, **kwargs: Any) -> None:
        super().__init__(stored, **kwargs)
        self["Content-Length"] = str(stored.size)
        self.opened = ExitStack()
        """What ``close`` leaves after the response is sent: the store's read."""

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.opened.close()
