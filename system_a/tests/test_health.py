import pytest
from django.test import Client
from pytest_django import Settings as SettingsWrapper

from config.testing import celery_broker


@pytest.fixture(autouse=True)
def uncached(settings: SettingsWrapper) -> None:
    """Every check here asks the broker (the cache is tested in tests/security)."""
    settings.HEALTH_BROKER_CACHE_S = 0


@pytest.mark.django_db
def test_health_is_200_when_the_database_the_broker_and_the_store_answer(
    client: Client, storage_root: object
) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"database": "ok", "broker": "ok", "storage": "ok"}


@pytest.mark.django_db
def test_health_is_503_naming_the_broker_when_it_does_not_answer(
    client: Client, storage_root: object
) -> None:
    # A real connection attempt to a port nothing listens on: the broker is down.
    with celery_broker("amqp://guest:guest@127.0.0.1:1//"):
        response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {"database": "ok", "broker": "unavailable", "storage": "ok"}


def test_health_is_503_naming_the_database_when_it_does_not_answer(client: Client) -> None:
    # No django_db mark: pytest-django blocks the database, so every query fails as it would
    # with the server down.
    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["database"] == "unavailable"
