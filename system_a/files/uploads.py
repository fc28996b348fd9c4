"""The upload size limit, enforced before a request body is read.

Django spools an upload to a temporary file while it parses the body, so checking the file's
size afterwards (UploadForm, services.file_create) has already cost the disk space. A request
that declares a larger body than the limit allows is refused from its headers alone; uploads
without a Content-Length (chunked) are still caught by the exact checks after parsing.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import Count, Q, Sum
from django.http import HttpRequest, HttpResponse, JsonResponse

from files.models import File

MULTIPART_OVERHEAD_BYTES = 16 * 1024
"""Room for the multipart boundaries, part headers and the other form fields."""


def upload_body_too_large(request: HttpRequest) -> bool:
    return _declared_length(request) > settings.MAX_UPLOAD_BYTES + MULTIPART_OVERHEAD_BYTES


def upload_limit_message(size: int | None = None) -> str:
    limit = f"the limit is {settings.MAX_UPLOAD_BYTES:,} bytes"
    if size is None:
        return f"The file is too large: {limit}."
    return f"The file is {size:,} bytes; {limit}."


class RequestBodyLimitMiddleware:
    """Refuse a request body larger than ``MAX_REQUEST_BYTES`` on every route but the upload
    routes (``UPLOAD_ROUTES``), from its Content-Length alone, before anything reads it.

    Django spools a multipart part to a temporary file as soon as ``request.POST`` is read
    (CSRF's check does, for every POST), before any login or permission check; and
    ``DATA_UPLOAD_MAX_MEMORY_SIZE`` does not count file parts. A body sent without a
    Content-Length (chunked) is not read by Django at all.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: object, args: object, kwargs: object
    ) -> HttpResponse | None:
        match = request.resolver_match
        if match is not None and match.view_name in settings.UPLOAD_ROUTES:
            return None
        if _declared_length(request) <= settings.MAX_REQUEST_BYTES:
            return None
        limit = settings.MAX_REQUEST_BYTES
        message = f"The request body is too large: the limit is {limit:,} bytes."
        if request.path_info.startswith("/api/"):
            return JsonResponse({"detail": message, "code": "body_too_large"}, status=413)
        return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")


def _declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


@dataclass(frozen=True)
class QuotaExceeded:
    """Why a user may not upload now, and the HTTP status that says so."""

    status: int
    message: str


def upload_quota_exceeded(*, owner: User, incoming_bytes: int) -> QuotaExceeded | None:
    """Whether ``owner`` is over a per-user limit with ``incoming_bytes`` more: too many files
    still being processed (429: wait), or too many bytes stored (413: delete some first).

    Checked before the body is read (with the size it declares, less the multipart overhead)
    and again with the exact size; two concurrent uploads can overshoot by one file, which the
    next upload then sees.
    """
    usage = File.objects.filter(owner=owner).aggregate(
        in_flight=Count("pk", filter=Q(status__in=[File.Status.PENDING, File.Status.PROCESSING])),
        stored=Sum("size_bytes", default=0),
    )
    if usage["in_flight"] >= settings.USER_MAX_IN_FLIGHT:
        return QuotaExceeded(
            status=429,
            message=f"You have {usage['in_flight']} files being processed; the limit is "
            f"{settings.USER_MAX_IN_FLIGHT}. Upload more once some have finished.",
        )
    if usage["stored"] + incoming_bytes > settings.USER_MAX_STORED_BYTES:
        return QuotaExceeded(
            status=413,
            message=f"Your uploads would take more than your {settings.USER_MAX_STORED_BYTES:,} "
            "bytes of storage.",
        )
    return None


def upload_declared_bytes(request: HttpRequest) -> int:
    """The size an upload declares (its Content-Length, less the multipart overhead)."""
    return max(0, _declared_length(request) - MULTIPART_OVERHEAD_BYTES)
