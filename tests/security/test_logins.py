"""Guessing passwords is stopped, and API tokens do not live for ever.

The attack: 25 wrong passwords against /api/token/, /login/ and /admin/login/, then the right
one. Before, every attempt was answered and the last one logged in."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pytest_django import Settings as SettingsWrapper
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

PASSWORD = "correct-horse-battery"  # the users of conftest.py

GUESSES = 25
ATTACKER = "203.0.113.9"
ELSEWHERE = "198.51.100.7"


@pytest.fixture
def admin_user(db: None) -> User:
    return User.objects.create_superuser("root", password=PASSWORD)


def token_login(password: str, *, address: str = ATTACKER, username: str = "ada") -> int:
    response = APIClient(REMOTE_ADDR=address).post(
        "/api/token/", {"username": username, "password": password}, format="json"
    )
    status: int = response.status_code
    return status


def page_login(path: str, username: str, password: str, *, address: str = ATTACKER) -> int:
    response = Client(REMOTE_ADDR=address).post(path, {"username": username, "password": password})
    status: int = response.status_code
    return status


def test_the_token_view_locks_out_a_guesser_even_with_the_right_password(user: User) -> None:
    statuses = [token_login(f"wrong-{n}") for n in range(GUESSES)]

    assert set(statuses[:4]) == {400}
    assert statuses[-1] == 429
    assert token_login(PASSWORD) == 429
    # Locked per user name and address: the user, from elsewhere, still gets in.
    assert token_login(PASSWORD, address=ELSEWHERE) == 200


@pytest.mark.parametrize("path", ["/login/", "/admin/login/"])
def test_the_login_pages_lock_out_a_guesser_even_with_the_right_password(
    path: str, admin_user: User
) -> None:
    statuses = [page_login(path, "root", f"wrong-{n}") for n in range(GUESSES)]

    assert statuses[0] == 200  # the form again, with an error
    assert statuses[-1] == 429
    assert page_login(path, "root", PASSWORD) == 429
    assert page_login(path, "root", PASSWORD, address=ELSEWHERE) == 302


def test_the_lockout_ends_after_the_cool_off(user: User, settings: SettingsWrapper) -> None:
    settings.AXES_COOLOFF_TIME = timedelta(seconds=0)
    for n in range(GUESSES):
        token_login(f"wrong-{n}")

    assert token_login(PASSWORD) == 200


def test_a_token_older_than_its_lifetime_is_refused_and_the_token_view_rotates_it(
    user: User, settings: SettingsWrapper
) -> None:
    settings.TOKEN_TTL_S = 3600
    old = Token.objects.create(user=user)
    Token.objects.filter(pk=old.pk).update(created=timezone.now() - timedelta(hours=2))
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {old.key}")

    refused = api.get(reverse("api:file-list"))
    issued = APIClient().post(
        "/api/token/", {"username": "ada", "password": PASSWORD}, format="json"
    )

    assert refused.status_code == 401
    assert issued.status_code == 200
    assert issued.json()["token"] != old.key
    api.credentials(HTTP_AUTHORIZATION=f"Token {issued.json()['token']}")
    assert api.get(reverse("api:file-list")).status_code == 200


def test_the_token_view_returns_the_same_token_while_it_is_valid(user: User) -> None:
    credentials = {"username": "ada", "password": PASSWORD}
    first = APIClient().post("/api/token/", credentials, format="json")
    second = APIClient().post("/api/token/", credentials, format="json")

    assert first.status_code == second.status_code == 200
    assert first.json()["token"] == second.json()["token"]


def test_changing_the_password_revokes_the_users_tokens(user: User) -> None:
    token = Token.objects.create(user=user)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert api.get(reverse("api:file-list")).status_code == 200

    user.set_password("a-brand-new-passphrase")
    user.save()

    assert api.get(reverse("api:file-list")).status_code == 401
    assert not Token.objects.filter(user=user).exists()


def test_saving_a_user_without_changing_the_password_keeps_the_token(user: User) -> None:
    token = Token.objects.create(user=user)

    user.first_name = "Ada"
    user.save()

    assert Token.objects.filter(key=token.key).exists()
