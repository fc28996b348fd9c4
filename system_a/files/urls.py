from django.urls import path

from files import views

app_name = "files"

urlpatterns = [
    path("", views.file_list, name="list"),
    path("files/rows/", views.file_rows, name="rows"),
    path("files/<int:pk>/", views.file_detail, name="detail"),
    path("files/<int:pk>/retry/", views.file_retry, name="retry"),
    path("files/<int:pk>/delete/", views.file_delete, name="delete"),
    path("files/<int:pk>/download/", views.file_download, name="download"),
]
