from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from files import services
from files.models import File


@admin.register(File)
class FileAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["original_name", "owner", "status", "attempts", "error_code", "created_at"]
    list_filter = ["status", "error_code"]
    list_select_related = ["owner"]
    search_fields = ["original_name", "storage_key", "task_id", "owner__username"]
    readonly_fields = [field.name for field in File._meta.fields]
    actions = ["retry"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Uploads go through the upload page so they are stored and dispatched by the services.
        return False

    @admin.action(description="Retry selected failed files")
    def retry(self, request: HttpRequest, queryset: QuerySet[File]) -> None:
        retried = sum(services.file_retry(file_id=file.pk).applied for file in queryset)
        self.message_user(request, f"{retried} file(s) sent again; files not FAILED were left.")
