from django.urls import path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.authtoken.views import obtain_auth_token

from files.api import views

app_name = "api"

urlpatterns = [
    path("token/", obtain_auth_token, name="token"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("files/", views.FileListCreate.as_view(), name="file-list"),
    path("files/<int:pk>/", views.FileDetail.as_view(), name="file-detail"),
    path("files/<int:pk>/retry/", views.FileRetry.as_view(), name="file-retry"),
    path("files/<int:pk>/download/", views.FileDownload.as_view(), name="file-download"),
]
