import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from pytest_django import Settings as SettingsWrapper
from rest_framework.authtoken.models import Token

from files.management.commands.ensure_demo_user import DEMO_PASSWORD, DEMO_USERNAME


@pytest.mark.django_db
def test_the_demo_user_is_created_once_and_its_login_printed(
    settings: SettingsWrapper, capsys: pytest.CaptureFixture[str]
) -> None:
    settings.DEBUG = True

    call_command("ensure_demo_user")
    call_command("ensure_demo_user")

    user = authenticate(username=DEMO_USERNAME, password=DEMO_PASSWORD)
    assert user is not None
    out = capsys.readouterr().out
    assert out.count("username demo, password crosslink-demo") == 2
    assert out.count(Token.objects.get(user=user).key) == 2
    assert "Created" in out
    assert "Reset" in out


@pytest.mark.django_db
def test_the_demo_user_is_refused_outside_debug(settings: SettingsWrapper) -> None:
    settings.DEBUG = False

    with pytest.raises(CommandError, match="DJANGO_DEBUG"):
        call_command("ensure_demo_user")
