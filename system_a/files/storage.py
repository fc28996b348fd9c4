"""System A's side of the shared storage volume: where uploads are written for B to read."""

import os
import re
import tempfile
import uuid
from pathlib import Path

from django.core.files.uploadedfile import UploadedFile

UPLOAD_PREFIX = "uploads"
# Keep a short, plain extension (".csv", ".csv.gz") for people browsing the volume; B ignores it.
_SUFFIX = re.compile(r"(\.[a-z0-9]{1,8}){1,2}$")


def storage_save_upload(*, upload: UploadedFile, root: Path) -> str:
    """Write ``upload`` under ``root`` and return its storage key.

    The key is a fresh UUID, never the user's file name, so names cannot collide or escape the
    root. The file appears under its final name only once complete (write, fsync, rename).
    """
    match = _SUFFIX.search((upload.name or "").lower())
    key = f"{UPLOAD_PREFIX}/{uuid.uuid4().hex}{match.group(0) if match else ''}"
    path = root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".upload.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as tmp:
            for chunk in upload.chunks():
                tmp.write(chunk)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return key


def storage_delete(*, key: str, root: Path) -> None:
    (root / key).unlink(missing_ok=True)
