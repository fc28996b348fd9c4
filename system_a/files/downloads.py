"""Serving System B's normalized output, for the page and the API alike."""

from pathlib import PurePosixPath

from django.http import FileResponse

from files import selectors
from files.models import File


def file_output_response(*, file: File) -> FileResponse | None:
    """The normalized output as an attachment named after the upload (``people.normalized.csv``),
    or ``None`` when the file has none (not processed yet, or B wrote no output)."""
    path = selectors.file_output_path(file=file)
    if path is None:
        return None
    stem = PurePosixPath(file.original_name).stem or "file"
    name = f"{stem}.normalized{path.suffix or '.csv'}"
    return FileResponse(path.open("rb"), as_attachment=True, filename=name)
