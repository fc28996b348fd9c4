"""pytest plugin for any suite that runs against System A (``-p config.testing``).

Gives each test run a database of its own name, so two runs on one PostgreSQL (two checkouts,
a developer and CI) never drop each other's test database; conftest files import the fixture,
since only a conftest's fixture reliably overrides pytest-django's own. Tests run with
production settings (DEBUG off), so they need a secret key; this one exists only in tests."""

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import kombu.pools
import pytest

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key-never-used-outside-pytest")
# The test client speaks plain HTTP; HTTPS settings are tested on their own (tests/security).
os.environ.setdefault("DJANGO_HTTPS", "false")


@pytest.fixture(scope="session")
def django_db_modify_db_settings() -> None:
    from django.conf import settings

    run_id = os.environ.get("CROSSLINK_TEST_RUN_ID") or uuid.uuid4().hex[:8]
    for db in settings.DATABASES.values():
        if db["ENGINE"].endswith("sqlite3"):
            continue  # the unit tier's database lives in this process's memory only
        db.setdefault("TEST", {})["NAME"] = f"test_{db['NAME']}_{run_id}"


@contextmanager
def celery_broker(url: str) -> Iterator[None]:
    """Point this process's Celery app at ``url`` for the duration, then back.

    The app caches its connection and producer pools on first use; both are dropped so the
    next publish really connects to ``url``. Celery reads CELERY_BROKER_URL from the environment
    in preference to its configuration, so that is set too.
    """
    from config.celery import app

    def reset_pools() -> None:
        # Private, but the only way to re-point a configured app in place (Celery's own test
        # suite does the same); the stubs do not know these attributes.
        if app._pool is not None:  # type: ignore[attr-defined]
            app._pool.force_close_all()  # type: ignore[attr-defined]
        app._pool = None  # type: ignore[attr-defined]
        app.amqp._producer_pool = None  # type: ignore[attr-defined]
        # kombu keeps its pools in a registry keyed by URL: without this, the next use of the
        # same URL gets the pool closed above ("Acquire on closed pool").
        kombu.pools.reset()

    original_conf = app.conf.broker_url
    original_env = os.environ.get("CELERY_BROKER_URL")
    reset_pools()
    os.environ["CELERY_BROKER_URL"] = url
    app.conf["broker_url"] = url
    try:
        yield
    finally:
        reset_pools()
        app.conf["broker_url"] = original_conf
        if original_env is None:
            os.environ.pop("CELERY_BROKER_URL", None)
        else:
            os.environ["CELERY_BROKER_URL"] = original_env
