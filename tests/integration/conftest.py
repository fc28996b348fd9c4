"""Fixtures of the integration tests that go through A's web server."""

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User

from harness.http import Reply, request
from harness.processes import ManagedProcess

Api = Callable[..., Reply]


@pytest.fixture
def api(web: str, workers: tuple[ManagedProcess, ManagedProcess]) -> Api:
    """Requests to A's API as a user who logs in with a password and gets a token."""
    User.objects.create_user("ada", password="api-test-password")
    reply = request(
        "POST", f"{web}/api/token/", form={"username": "ada", "password": "api-test-password"}
    )
    assert reply.status == 200, reply.body
    headers = {"Authorization": f"Token {reply.json()['token']}", "Accept": "application/json"}

    def call(method: str, path: str, **kwargs: Any) -> Reply:
        return request(method, f"{web}{path}", headers=headers, **kwargs)

    return call
