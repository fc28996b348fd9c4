"""Every API error is JSON with the same shape: ``{"detail": ..., "code": ...}``, and for bad
input also ``"errors"``, the message for each field."""

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from shared_schema.errors import ErrorCode, StorageUnavailable


class UploadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The file is too large."
    default_code = "file_too_large"


class UploadQuotaExceeded(exceptions.APIException):
    """Over a per-user limit (files/uploads.py): 429 for files in flight, 413 for storage."""

    status_code: int = status.HTTP_429_TOO_MANY_REQUESTS
    default_detail = "You are over your upload limit."
    default_code = "upload_limit"

    def __init__(self, detail: str, *, status_code: int) -> None:
        super().__init__(detail)
        self.status_code = status_code


class UploadRefused(exceptions.APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "The file was refused."
    default_code = "upload_refused"


class NotRetryable(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "Only failed files can be retried."
    default_code = "not_failed"


class RetryWillNotHelp(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "Retrying will not help: the error is in the file. Fix it and upload it again."
    default_code = "retry_will_not_help"


class NotDeletable(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "Only a finished file can be deleted."
    default_code = "not_finished"


class StoreUnavailable(exceptions.APIException):
    """The store failed (``shared_schema.errors.StorageUnavailable``): nothing was stored, or
    nothing can be read, for now. In this project's words: never the store's endpoint."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "File storage is not available right now. Try again in a few minutes."
    default_code = ErrorCode.STORAGE_UNAVAILABLE.value


class NoOutput(exceptions.NotFound):
    default_detail = "This file has no normalized output."
    default_code = "no_output"


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, StorageUnavailable):  # logged where it was met (files/storage.py)
        exc = StoreUnavailable()
    response = exception_handler(exc, context)
    if response is None:  # not an API error: Django's 500 handling applies
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = {
            "detail": _first_message(response.data) or "The request is not valid.",
            "code": "invalid",
            "errors": response.data,
        }
    elif isinstance(exc, exceptions.APIException):
        response.data = {"detail": str(exc.detail), "code": exc.get_codes()}
    else:  # Http404 and PermissionDenied from Django, already turned into DRF's shape
        code = "not_found" if response.status_code == 404 else "permission_denied"
        response.data = {"detail": response.data.get("detail", ""), "code": code}
    return response


def _first_message(errors: Any) -> str:
    """The first field's first message ("The submitted file is empty."), so a client that shows
    only ``detail`` shows the specific reason."""
    if isinstance(errors, dict):
        errors = next(iter(errors.values()), None)
    if isinstance(errors, list) and errors and isinstance(errors[0], str):
        return errors[0]
    return ""


@csrf_exempt  # changes nothing, so a POST to a wrong address is a 404, not a CSRF 403
def api_not_found(request: HttpRequest) -> JsonResponse:
    """404 for an /api/ address that matches no route (``/api/files/abc/``), in the API's shape."""
    return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)
