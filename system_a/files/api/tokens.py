"""API tokens that expire, are rotated when they do, and are revoked when the password changes.

DRF's tokens never change on their own. Here a token older than ``TOKEN_TTL_S`` is refused
(and deleted); ``POST /api/token/`` returns the user's current token, or a new one once the old
has expired; and changing a user's password (admin, ``changepassword``, ``set_password`` then
``save``) deletes their tokens, so a leaked token dies with the password it was issued under.
Failed and locked-out logins through the token view are counted by django-axes like any other
(settings: AXES_*).
"""

from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models.signals import pre_save
from django.dispatch import receiver
from drf_spectacular.utils import extend_schema
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.parsers import FormParser, JSONParser
from rest_framework.request import Request
from rest_framework.response import Response

from files.api.authentication import token_expired


def token_for(*, user: User) -> Token:
    """The user's token, a new one if they have none or theirs has expired."""
    with transaction.atomic():
        token, created = Token.objects.select_for_update().get_or_create(user=user)
        if not created and token_expired(token):
            token.delete()
            token = Token.objects.create(user=user)
    return token


class TokenObtain(ObtainAuthToken):
    # JSON or a urlencoded form: no multipart, so nothing is spooled to disk for a login.
    parser_classes = [JSONParser, FormParser]

    @extend_schema(summary="Exchange a user name and password for an API token")
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # The Django request, not DRF's wrapper, so django-axes marks a lockout where its
        # middleware looks (and answers 429).
        serializer = self.serializer_class(data=request.data, context={"request": request._request})
        serializer.is_valid(raise_exception=True)
        token = token_for(user=serializer.validated_data["user"])
        return Response({"token": token.key})


@receiver(pre_save, sender=User, dispatch_uid="files.tokens.revoke_on_password_change")
def _revoke_tokens_on_password_change(sender: type[User], instance: User, **kwargs: Any) -> None:
    if instance.pk is None:
        return
    stored = User.objects.filter(pk=instance.pk).values_list("password", flat=True).first()
    if stored is not None and stored != instance.password:
        Token.objects.filter(user_id=instance.pk).delete()
