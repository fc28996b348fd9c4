"""The upload page. Thin: every read is a selector, every write a service.

Every view is for a logged-in user and sees only that user's files: another user's file id
is a 404, exactly like an id that does not exist.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from files import selectors, services
from files.accounts import request_owner
from files.downloads import file_output_response
from files.forms import UploadForm
from files.models import File
from files.uploads import (
    upload_body_too_large,
    upload_declared_bytes,
    upload_limit_message,
    upload_quota_exceeded,
)

PAGE_FILES = 100
"""How many of the user's newest files the page lists."""


def _rows(request: HttpRequest) -> list[tuple[File, selectors.Activity | None]]:
    files = selectors.file_list(owner=request.user)[:PAGE_FILES]
    return [(file, selectors.file_activity(file=file)) for file in files]


def _owned(request: HttpRequest, pk: int) -> File:
    try:
        return selectors.file_get(owner=request.user, file_id=pk)
    except File.DoesNotExist:
        raise Http404("No such file.") from None


@login_required
def file_list(request: HttpRequest) -> HttpResponse:
    form = UploadForm()
    errors: list[str] = []
    status = 200
    if request.method == "POST":
        # Without JavaScript the page posts here; with it, the page uses the JSON API.
        quota = upload_quota_exceeded(
            owner=request_owner(request.user), incoming_bytes=upload_declared_bytes(request)
        )
        if upload_body_too_large(request):
            errors.append(upload_limit_message())
            status = 413
        elif quota is not None:
            errors.append(quota.message)
            status = quota.status
        else:
            form = UploadForm(request.POST, request.FILES)
            if form.is_valid() and (
                quota := upload_quota_exceeded(
                    owner=request_owner(request.user),
                    incoming_bytes=form.cleaned_data["file"].size or 0,
                )
            ):
                errors.append(quota.message)
                status = quota.status
            elif form.is_valid():
                try:
                    file = services.file_create(
                        upload=form.cleaned_data["file"], owner=request_owner(request.user)
                    )
                except services.UploadRejected as exc:
                    form.add_error("file", str(exc))
                else:
                    messages.success(
                        request, f"{file.original_name} uploaded; processing starts now."
                    )
                    return redirect("files:list")
    errors += [str(error) for error in form.errors.get("file", [])]
    context = {
        "upload_errors": errors,
        "rows": _rows(request),
        "max_upload_bytes": settings.MAX_UPLOAD_BYTES,
    }
    return render(request, "files/list.html", context, status=status)


@login_required
@require_GET
def file_rows(request: HttpRequest) -> HttpResponse:
    """The table body alone: what the page polls while files are being processed."""
    return render(request, "files/_rows.html", {"rows": _rows(request)})


@login_required
@require_POST
def file_retry(request: HttpRequest, pk: int) -> HttpResponse:
    file = _owned(request, pk)
    if services.file_retry(file_id=file.pk).applied:
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
def file_download(request: HttpRequest, pk: int) -> FileResponse:
    response = file_output_response(file=_owned(request, pk))
    if response is None:
        raise Http404("This file has no normalized output.")
    return response
