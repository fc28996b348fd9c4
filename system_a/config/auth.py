"""The login lockout's authentication backend (settings: AUTHENTICATION_BACKENDS, AXES_*)."""

from typing import Any

from axes.backends import AxesStandaloneBackend
from django.http import HttpRequest


class LockoutBackend(AxesStandaloneBackend):
    """django-axes' lockout check, for every login that comes with a request: the login pages,
    the admin's and /api/token/. A call of ``authenticate()`` without one is the server's own
    code (a management command, a test), where there is no client to lock out; axes' backend
    would raise for it, so this one lets the next backend answer."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> None:
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)  # type: ignore[no-any-return]
