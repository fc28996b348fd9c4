"""The page to read and try the API: Swagger UI, its files served by A itself (no CDN).

The files come from drf-spectacular-sidecar's package and are served by a plain Django view,
because A's web server (gunicorn) serves no static files. The split view delivers its start-up
script as a separate request, so the page needs no inline script.
"""

from pathlib import Path

import drf_spectacular_sidecar
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.views.static import serve
from drf_spectacular.views import SpectacularSwaggerSplitView

ASSETS = Path(drf_spectacular_sidecar.__file__).parent / "static" / "drf_spectacular_sidecar"


class ApiDocs(SpectacularSwaggerSplitView):
    url_name = "api:schema"
    title = "crosslink System A API"

    @staticmethod
    def _swagger_ui_resource(filename: str) -> str:
        return reverse("api:docs-asset", args=[f"swagger-ui-dist/{filename}"])

    @staticmethod
    def _swagger_ui_favicon() -> str:
        return reverse("api:docs-asset", args=["swagger-ui-dist/favicon-32x32.png"])


def api_docs_asset(request: HttpRequest, path: str) -> HttpResponseBase:
    """One of Swagger UI's files; ``serve`` refuses paths that leave ASSETS."""
    response: HttpResponseBase = serve(request, path, document_root=str(ASSETS))
    response["Cache-Control"] = "public, max-age=86400"
    return response
