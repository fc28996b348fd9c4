"""``manage.py ensure_demo_user``: the demo's login, created or reset, and printed.

For the demo only: it refuses to run unless DJANGO_DEBUG is on, since it sets a password that
is printed and written in README.md. Running it again resets the password and keeps the token.
"""

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from rest_framework.authtoken.models import Token

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "crosslink-demo"  # noqa: S105 - a demo login, printed on purpose


class Command(BaseCommand):
    help = "Create (or reset) the demo user and print its login and API token. DEBUG only."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("The demo user is for demos: set DJANGO_DEBUG=true to create it.")
        user, created = get_user_model().objects.get_or_create(username=DEMO_USERNAME)
        # Only when it differs: a new password revokes the user's API tokens (files/api/tokens.py).
        if not user.check_password(DEMO_PASSWORD):
            user.set_password(DEMO_PASSWORD)
            user.save()
        token, _ = Token.objects.get_or_create(user=user)
        self.stdout.write(
            f"{'Created' if created else 'Reset'} the demo user: "
            f"username {DEMO_USERNAME}, password {DEMO_PASSWORD}, API token {token.key}"
        )
