"""Schemathesis generates requests from the app's own OpenAPI schema and sends them in process,
authenticated as a user who owns a file in every state: no request may end in a 5xx."""

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from django.test import override_settings
from hypothesis import HealthCheck, settings
from pytest_django import Settings as SettingsWrapper
from rest_framework.authtoken.models import Token

from config.wsgi import application
from files.models import File

from .conftest import fail, succeed

# Loaded at collection, before pytest-django adds its test hosts; Schemathesis sends
# "Host: localhost" and the tests run with production settings.
with override_settings(ALLOWED_HOSTS=["localhost"]):
    schema = schemathesis.openapi.from_wsgi("/api/schema/", application)


@pytest.fixture
def in_process_requests(settings: SettingsWrapper) -> Iterator[None]:
    settings.ALLOWED_HOSTS = ["localhost"]
    # Requests go through the WSGI handler, which closes the database connection after each
    # one, and with it the test's transaction. Django's test client turns this off the same way.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


MAX_EXAMPLES = 30
"""Per operation: enough to try every kind of bad input, small enough to run in seconds."""

UNKNOWN_ID = 999_999


@pytest.fixture
def fuzz_world(
    processing_file: Callable[..., File], storage_root: Path, user: Any, in_process_requests: None
) -> tuple[dict[str, str], list[int]]:
    """The user's token header, and the ids of their files in every state (plus an unknown id)."""
    files = [
        processing_file(task_id="processing"),
        fail(processing_file(task_id="failed")),
        succeed(processing_file(task_id="done"), output=b"id\n1\n"),
        succeed(processing_file(task_id="done-no-output")),
    ]
    token = Token.objects.create(user=user)
    return {"Authorization": f"Token {token.key}"}, [f.pk for f in files] + [UNKNOWN_ID]


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_no_generated_request_gets_a_server_error(
    case: schemathesis.Case,  # type: ignore[type-arg]
    fuzz_world: tuple[dict[str, str], list[int]],
) -> None:
    headers, ids = fuzz_world
    # Point generated ids at real files most of the time, so retry and download meet every
    # state, not only 404s.
    if case.path_parameters and isinstance(case.path_parameters.get("id"), int):
        case.path_parameters["id"] = ids[abs(case.path_parameters["id"]) % len(ids)]

    response = case.call(headers=headers)

    assert response.status_code < 500, (case.method, case.formatted_path, response.text[:500])
