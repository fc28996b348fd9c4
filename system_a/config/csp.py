"""A Content-Security-Policy on every response, with a fresh nonce for the page's own inline
script and style.

A small middleware rather than django-csp: there is one fixed policy, and its only moving part
is the nonce. The page keeps its script and style inline (it needs no static file server, and
gunicorn serves none); each carries ``nonce="{{ request.csp_nonce }}"``, so an injected script
or style without it does not run. ``style-src-attr 'unsafe-inline'`` lets the progress bars set
their width in a ``style`` attribute, which cannot run code.
https://developer.mozilla.org/en-US/docs/Web/HTTP/Headers/Content-Security-Policy
"""

import secrets
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

POLICY = (
    "default-src 'self'; "
    "script-src 'self' 'nonce-{nonce}'; "
    "style-src 'self' 'nonce-{nonce}'; "
    "style-src-attr 'unsafe-inline'; "
    "img-src 'self' data:; "
    "connect-src 'self'; "
    "form-action 'self'; "
    "frame-ancestors 'none'; "
    "base-uri 'none'; "
    "object-src 'none'"
)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        nonce = secrets.token_urlsafe(16)
        request.csp_nonce = nonce  # type: ignore[attr-defined]
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", POLICY.format(nonce=nonce))
        return response
