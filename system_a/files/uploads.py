"""The upload size limit, enforced before a request body is read.

Django spools an upload to a temporary file while it parses the body, so checking the file's
size afterwards (UploadForm, services.file_create) has already cost the disk space. A request
that declares a larger body than the limit allows is refused from its headers alone; uploads
without a Content-Length (chunked) are still caught by the exact checks after parsing.
"""

from django.conf import settings
from django.http import HttpRequest

MULTIPART_OVERHEAD_BYTES = 16 * 1024
"""Room for the multipart boundaries, part headers and the other form fields."""


def upload_body_too_large(request: HttpRequest) -> bool:
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    return declared > settings.MAX_UPLOAD_BYTES + MULTIPART_OVERHEAD_BYTES


def upload_limit_message(size: int | None = None) -> str:
    limit = f"the limit is {settings.MAX_UPLOAD_BYTES:,} bytes"
    if size is None:
        return f"The file is too large: {limit}."
    return f"The file is {size:,} bytes; {limit}."
