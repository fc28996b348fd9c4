"""Token authentication with expiry (files/api/tokens.py issues and rotates the tokens).

Its own module: DRF imports the authentication classes named in its settings while its own
views module is being imported, so this one must not import DRF's views.
"""

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token


def token_expired(token: Token) -> bool:
    expired: bool = token.created < timezone.now() - timedelta(seconds=settings.TOKEN_TTL_S)
    return expired


class ExpiringTokenAuthentication(TokenAuthentication):
    """``Authorization: Token <key>``, refused once the token is older than TOKEN_TTL_S."""

    def authenticate_credentials(self, key: str) -> tuple[Any, Token]:
        user, token = super().authenticate_credentials(key)
        if token_expired(token):
            token.delete()
            raise exceptions.AuthenticationFailed(
                "The token has expired; ask /api/token/ for a new one."
            )
        return user, token
