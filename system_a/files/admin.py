from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from files import services
from files.models import File, FileEvent


class FileEventInline(admin.TabularInline):  # type: ignore[type-arg]
    model = FileEvent
    fields = ("at", "kind", "source", "task_id", "from_status", "to_status", "detail")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(File)
class FileAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["original_name", "owner", "status", "attempts", "error_code", "created_at"]
    list_filter = ["status", "error_code"]
    list_select_related = ["owner"]
    search_fields = ["original_name", "storage_key", "task_id", "owner__username"]
    readonly_fields = [field.name for field in File._meta.fields]
    inlines = [FileEventInline]
    actions = ["retry"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Uploads go through the upload page so they are stored and dispatched by the services.
        return False

    # Deleting goes through the service too, so the stored upload and output go with the row.
    def delete_model(self, request: HttpRequest, obj: File) -> None:
        services.file_delete(file_id=obj.pk, finished_only=False)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[File]) -> None:
        for pk in queryset.values_list("pk", flat=True):
            services.file_delete(file_id=pk, finished_only=False)

    @admin.action(description="Retry selected failed files")
    def retry(self, request: HttpRequest, queryset: QuerySet[File]) -> None:
        retried = sum(services.file_retry(file_id=file.pk).applied for file in queryset)
        self.message_user(request, f"{retried} file(s) sent again; files not FAILED were left.")
