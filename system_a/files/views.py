from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from files import selectors, services
from files.forms import UploadForm
from files.models import File


def file_list(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = UploadForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                file = services.file_create(upload=form.cleaned_data["file"])
            except services.UploadRejected as exc:
                form.add_error("file", str(exc))
            else:
                messages.success(request, f"{file.original_name} uploaded; processing starts now.")
                return redirect("files:list")
    else:
        form = UploadForm()
    rows = [(file, selectors.file_activity(file=file)) for file in selectors.file_list()[:100]]
    return render(request, "files/list.html", {"form": form, "rows": rows})


@require_POST
def file_retry(request: HttpRequest, pk: int) -> HttpResponse:
    file = get_object_or_404(File, pk=pk)
    if services.file_retry(file_id=file.pk).applied:
        messages.success(request, f"{file.original_name} is being processed again.")
    else:
        messages.error(
            request,
            f"{file.original_name} is {file.get_status_display()}; "
            "only failed files can be retried.",
        )
    return redirect("files:list")
