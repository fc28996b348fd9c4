from django.urls import path

from files import views

app_name = "files"

urlpatterns = [
    path("", views.file_list, name="list"),
    path("files/<int:pk>/retry/", views.file_retry, name="retry"),
]
