from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.authtoken.views import obtain_auth_token

from files.api import views
from files.api.docs import ApiDocs, api_docs_asset
from files.api.errors import api_not_found

app_name = "api"

urlpatterns = [
    path("token/", obtain_auth_token, name="token"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", ApiDocs.as_view(), name="docs"),
    re_path(
        r"^docs/assets/(?P<path>swagger-ui-dist/[\w.-]+\.(?:js|css|png))$",
        api_docs_asset,
        name="docs-asset",
    ),
    path("files/", views.FileListCreate.as_view(), name="file-list"),
    path("files/<int:pk>/", views.FileDetail.as_view(), name="file-detail"),
    path("files/<int:pk>/retry/", views.FileRetry.as_view(), name="file-retry"),
    path("files/<int:pk>/download/", views.FileDownload.as_view(), name="file-download"),
    # Last: any other address under /api/ is a JSON 404 too, with DEBUG on or off.
    re_path(r"^.*$", api_not_found),
]
