"""The upload page. Thin: every read is a selector, every write a service.

Every view is for a logged-in user and sees only that user's files: another user's file id
is a 404, exactly like an id that does not exist.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.http import urlencode
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST

from files import selectors, services
from files.accounts import request_owner
from files.downloads import file_output_response
from files.forms import UploadForm
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

PAGE_FILES = 20
"""How many files one page of the list shows."""

COLUMNS_SHOWN = 8
"""Columns named in a row of the list; the rest are "+N more", on the file's own page."""


def _listing(request: HttpRequest) -> dict[str, object]:
    """One page of the user's files, searched and filtered by the query string, with each
    file's progress: what the list and its polled updates show."""
    name = request.GET.get("q", "").strip()[:255]
    status = request.GET.get("status", "")
    if status not in File.Status.values:
        status = ""
    files = selectors.file_list(owner=request.user, name=name, status=status)
    page: Page[File] = Paginator(files, PAGE_FILES).get_page(request.GET.get("page"))
    query = {key: value for key, value in (("q", name), ("status", status)) if value}
    return {
        "rows": [(file, selectors.file_activity(file=file)) for file in page],
        "page": page,
        "q": name,
        "status": status,
        "statuses": File.Status.choices,
        "query": urlencode(query),
        "filtered": bool(query),
        "columns_shown": COLUMNS_SHOWN,
    }


@login_required
@csrf_exempt  # checked by _file_upload, once the body may be read (see file_list)
def file_list(request: HttpRequest) -> HttpResponse:
    """The list and, without JavaScript, the upload form's target (with it, the page uses the
    JSON API).

    An upload's limits are checked from its headers before any of its body is read; then the
    body streams to the store as it arrives (files/upload_handler.py). So CSRF's check, which
    reads the body, runs after both (``_file_upload``), not in the middleware ahead of them.
    """
    if request.method != "POST":
        return _page(request)
    quota = upload_quota_exceeded(
        owner=request_owner(request.user), incoming_bytes=upload_declared_bytes(request)
    )
    if upload_body_too_large(request):
        return _page(request, errors=[upload_limit_message()], status=413)
    if quota is not None:
        return _page(request, errors=[quota.message], status=quota.status)
    try:
        with uploads_to_store(request):
            return _file_upload(request)
    except StorageUnavailable:
        return _page(request, errors=[UPLOAD_UNAVAILABLE_MESSAGE], status=503)


@csrf_protect
def _file_upload(request: HttpRequest) -> HttpResponse:
    form = UploadForm(request.POST, request.FILES)
    if form.is_valid() and (
        quota := upload_quota_exceeded(
            owner=request_owner(request.user),
            incoming_bytes=form.cleaned_data["file"].size or 0,
        )
    ):
        return _page(request, form=form, errors=[quota.message], status=quota.status)
    if form.is_valid():
        try:
            file = services.file_create(
                upload=form.cleaned_data["file"], owner=request_owner(request.user)
            )
        except services.UploadRejected as exc:
            form.add_error("file", str(exc))
        else:
            messages.success(request, f"{file.original_name} uploaded; processing starts now.")
            return redirect("files:list")
    return _page(request, form=form)


def _page(
    request: HttpRequest,
    *,
    form: UploadForm | None = None,
    errors: list[str] | None = None,
    status: int = 200,
) -> HttpResponse:
    form = form or UploadForm()
    context = {
        "upload_errors": (errors or []) + [str(error) for error in form.errors.get("file", [])],
        "max_upload_bytes": settings.MAX_UPLOAD_BYTES,
        **_listing(request),
    }
    return render(request, "files/list.html", context, status=status)


@login_required
@require_GET
def file_rows(request: HttpRequest) -> HttpResponse:
    """The list alone (rows and pages): what the page polls while files are being processed."""
    return render(request, "files/_rows.html", _listing(request))


@login_required
@require_GET
def file_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One file: the whole summary, every attempt with its times, and its history."""
    file = owned_file(user=request.user, pk=pk)
    events = selectors.file_events(file=file)
    context = {
        "file": file,
        "activity": selectors.file_activity(file=file),
        "attempts": selectors.file_attempts(file=file, events=events),
        "events": events,
        "sample_rows": file.summary.get("sample_rows") or [],
    }
    return render(request, "files/detail.html", context)


@login_required
@require_POST
def file_delete(request: HttpRequest, pk: int) -> HttpResponse:
    file = owned_file(user=request.user, pk=pk)
    if services.file_delete(file_id=file.pk).applied:
        messages.success(request, f"{file.original_name} deleted.")
    else:
        messages.error(
            request, f"{file.original_name} is still being processed; delete it once finished."
        )
    return redirect("files:list")


@login_required
@require_POST
def file_retry(request: HttpRequest, pk: int) -> HttpResponse:
    file = owned_file(user=request.user, pk=pk)
    if file.status == File.Status.FAILED and not file.retry_helps:
        messages.error(
            request,
            f"Retrying {file.original_name} will not help: the error is in the file. "
            "Fix it and upload it again.",
        )
    elif services.file_retry(file_id=file.pk).applied:
        messages.success(request, f"{file.original_name} is being processed again.")
    else:
        messages.error(
            request,
            f"{file.original_name} is {file.get_status_display()}; "
            "only failed files can be retried.",
        )
    return redirect("files:list")


@login_required
@require_GET
def file_download(request: HttpRequest, pk: int) -> HttpResponseBase:
    file = owned_file(user=request.user, pk=pk)
    try:
        response = file_output_response(file=file)
    except StorageUnavailable:
        return HttpResponse(
            DOWNLOAD_UNAVAILABLE_MESSAGE, status=503, content_type="text/plain; charset=utf-8"
        )
    if response is None:
        raise Http404("This file has no normalized output.")
    return response
