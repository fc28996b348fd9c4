"""The JSON API: the same rules as the page, through the same selectors and services.

A user sees only their own files; another user's file id is a 404, like an unknown one.
"""

from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db.models import QuerySet
from django.http import FileResponse, HttpRequest
from django.http.response import HttpResponseBase
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, generics, serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from files import selectors, services
from files.accounts import request_owner
from files.api.errors import (
    NoOutput,
    NotDeletable,
    NotRetryable,
    RetryWillNotHelp,
    StoreUnavailable,
    UploadQuotaExceeded,
    UploadRefused,
    UploadTooLarge,
)
from files.api.serializers import FileDetailSerializer, FileSerializer, UploadSerializer
from files.downloads import file_output_response
from files.http import owned_file
from files.models import File
from files.storage import DOWNLOAD_UNAVAILABLE_MESSAGE, UPLOAD_UNAVAILABLE_MESSAGE
from files.upload_handler import uploads_to_store
from files.uploads import (
    upload_body_too_large,
    upload_declared_bytes,
    upload_limit_message,
    upload_quota_exceeded,
)
from shared_schema.errors import StorageUnavailable

ERROR = OpenApiResponse(
    response={
        "type": "object",
        "properties": {
            "detail": {"type": "string"},
            "code": {"type": "string"},
            "errors": {"type": "object", "additionalProperties": True},
        },
        "required": ["detail", "code"],
    },
    description="What was wrong, as JSON.",
)


class FilePages(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class ListQuery(serializers.Serializer):  # type: ignore[type-arg]
    search = serializers.CharField(required=False, allow_blank=True, max_length=255)
    status = serializers.ChoiceField(choices=File.Status.values, required=False, allow_blank=True)


LIST_PARAMETERS = [
    OpenApiParameter("search", str, description="Only files whose name contains this (any case)."),
    OpenApiParameter("status", str, enum=File.Status.values, description="Only files in it."),
]


class FileListCreate(generics.ListAPIView):  # type: ignore[type-arg]
    serializer_class = FileSerializer
    parser_classes = [MultiPartParser]
    pagination_class = FilePages

    def get_queryset(self) -> QuerySet[File]:
        query = ListQuery(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return selectors.file_list(
            owner=self.request.user,
            name=query.validated_data.get("search", ""),
            status=query.validated_data.get("status", ""),
        )

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        """An upload streams to the store as its body is parsed (files/upload_handler.py);
        installed here, before authentication, since a session's CSRF check reads the body."""
        if request.method != "POST":
            return super().dispatch(request, *args, **kwargs)
        with uploads_to_store(request):
            return super().dispatch(request, *args, **kwargs)

    @extend_schema(
        summary="Upload a file",
        description="Stores the file and sends it to System B once stored; poll its detail "
        "to follow it. Refused before anything is stored when it is empty or over the limit; "
        "503 (`storage_unavailable`) with nothing stored when the file storage is unavailable.",
        request={"multipart/form-data": UploadSerializer},
        responses={
            201: FileSerializer,
            400: ERROR,
            401: ERROR,
            413: ERROR,
            429: ERROR,
            503: ERROR,
        },
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # Checked from the headers, before the body is parsed (and streamed to the store).
        if upload_body_too_large(request._request):
            raise UploadTooLarge(upload_limit_message())
        quota = upload_quota_exceeded(
            owner=request_owner(request.user),
            incoming_bytes=upload_declared_bytes(request._request),
        )
        if quota is not None:
            raise UploadQuotaExceeded(quota.message, status_code=quota.status)
        try:
            return self._create(request)
        except StorageUnavailable:  # from reading the body into the store, or from storing it
            raise StoreUnavailable(UPLOAD_UNAVAILABLE_MESSAGE) from None

    def _create(self, request: Request) -> Response:
        upload_serializer = UploadSerializer(data=request.data)
        upload_serializer.is_valid(raise_exception=True)
        upload: UploadedFile = upload_serializer.validated_data["file"]
        if (upload.size or 0) > settings.MAX_UPLOAD_BYTES:
            raise UploadTooLarge(upload_limit_message(upload.size))
        # Again with the exact size, now that it is known.
        quota = upload_quota_exceeded(
            owner=request_owner(request.user), incoming_bytes=upload.size or 0
        )
        if quota is not None:
            raise UploadQuotaExceeded(quota.message, status_code=quota.status)
        try:
            file = services.file_create(upload=upload, owner=request_owner(request.user))
        except services.UploadRejected as exc:
            raise UploadRefused(str(exc)) from None
        data = FileSerializer(file, context={"request": request}).data
        return Response(
            data, status=status.HTTP_201_CREATED, headers={"Location": data["links"]["detail"]}
        )

    @extend_schema(
        summary="List your files, newest first",
        description="Paged (`page`, `page_size` up to 200); filtered by `search` and `status`.",
        parameters=LIST_PARAMETERS,
        responses={200: FileSerializer(many=True), 400: ERROR, 401: ERROR, 404: ERROR},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class FileDetail(APIView):
    @extend_schema(
        summary="One file, complete: status, progress, summary or error, attempts, history",
        responses={200: FileDetailSerializer, 401: ERROR, 404: ERROR},
    )
    def get(self, request: Request, pk: int) -> Response:
        file = owned_file(user=request.user, pk=pk)
        return Response(FileDetailSerializer(file, context={"request": request}).data)

    @extend_schema(
        summary="Delete a finished file",
        description="Deletes the record, its history, the stored upload and the normalized "
        "output. A file still waiting or being processed cannot be deleted (409).",
        request=None,
        responses={204: None, 401: ERROR, 404: ERROR, 409: ERROR},
    )
    def delete(self, request: Request, pk: int) -> Response:
        file = owned_file(user=request.user, pk=pk)
        try:
            outcome = services.file_delete(file_id=file.pk)
        except File.DoesNotExist:
            raise exceptions.NotFound("No such file.") from None
        if not outcome.applied:
            raise NotDeletable(
                f"The file is {outcome.found.label.lower()}; wait until it is finished."
            )
        return Response(status=status.HTTP_204_NO_CONTENT)


class FileRetry(APIView):
    @extend_schema(
        summary="Retry a failed file",
        description="Starts a new attempt with a new task id; late callbacks of the old attempt "
        "are ignored. Only a FAILED file whose error is the system's (a time limit, storage, a "
        "lost outcome) can be retried; for the file's own errors, upload a fixed file.",
        request=None,
        responses={202: FileSerializer, 401: ERROR, 404: ERROR, 409: ERROR},
    )
    def post(self, request: Request, pk: int) -> Response:
        file = owned_file(user=request.user, pk=pk)
        if file.status == File.Status.FAILED and not file.retry_helps:
            raise RetryWillNotHelp()
        outcome = services.file_retry(file_id=file.pk)
        if not outcome.applied:
            raise NotRetryable(
                f"The file is {outcome.found.label.lower()}; only failed files can be retried."
            )
        file.refresh_from_db()
        data = FileSerializer(file, context={"request": request}).data
        return Response(data, status=status.HTTP_202_ACCEPTED)


class FileDownload(APIView):
    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # The success response is the file itself, whatever the client accepts (curl -H
        # "Accept: text/csv" included); only errors are rendered, as JSON.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        summary="Download the normalized output",
        responses={
            (200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY),
            401: ERROR,
            404: ERROR,
            503: ERROR,
        },
    )
    def get(self, request: Request, pk: int) -> FileResponse:
        file = owned_file(user=request.user, pk=pk)
        try:
            response = file_output_response(file=file)
        except StorageUnavailable:
            raise StoreUnavailable(DOWNLOAD_UNAVAILABLE_MESSAGE) from None
        if response is None:
            raise NoOutput()
        return response
