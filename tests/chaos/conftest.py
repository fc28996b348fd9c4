"""Fault tests run against a private stack: their own RabbitMQ, Redis and PostgreSQL on spare
ports, which they stop and restart at will. The shared services are never touched.

The whole session points at the private stack: A's test database is created on the private
PostgreSQL, this process publishes to the private RabbitMQ and reads the private Redis, and so
do the workers each test starts. Run with ``make chaos`` (50 files per fault) or as part of
``make test`` (CROSSLINK_CHAOS_FILES, 15 by default there).
"""

import contextlib
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from config.testing import celery_broker
from harness.chaos import RESULTS, Rig, Stack, summary_lines
from harness.ports import free_port
from harness.processes import REPO
from harness.services import Postgres, RabbitMQ, Redis, workdir


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    services = []
    run_dir = None
    try:
        began = time.monotonic()
        rabbit = RabbitMQ(name="rabbitmq", port=free_port(), workdir=workdir("rabbitmq"))
        services.append(rabbit)
        rabbit.start()
        redis = Redis(name="redis", port=free_port(), workdir=workdir("redis"))
        services.append(redis)
        redis.start()
        postgres = Postgres(name="postgres", port=free_port(), workdir=workdir("postgres"))
        services.append(postgres)
        postgres.initialise()
        postgres.start()
        # Not pytest's tmp_path: other runs on this machine prune those while this one works.
        # Logs stay in var/chaos/ for a look afterwards; the stored files are removed.
        run_dir = REPO / "var" / "chaos" / f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
        run_dir.mkdir(parents=True)
        yield Stack(
            rabbitmq=rabbit,
            redis=redis,
            postgres=postgres,
            run_dir=run_dir,
            started_in=time.monotonic() - began,
        )
    finally:
        for service in reversed(services):
            service.remove()
        if run_dir is not None:
            shutil.rmtree(run_dir / "storage", ignore_errors=True)


@pytest.fixture(scope="session")
def django_db_modify_db_settings(stack: Stack) -> None:
    """A's test database lives on the private PostgreSQL, which the tests restart."""
    run_id = os.environ.get("CROSSLINK_TEST_RUN_ID", "") or "chaos"
    for db in settings.DATABASES.values():
        db["HOST"] = "127.0.0.1"
        db["PORT"] = stack.postgres.port
        db.setdefault("TEST", {})["NAME"] = f"test_{db['NAME']}_{run_id}"


@pytest.fixture(scope="session")
def chaos_wire(stack: Stack, django_db_setup: None) -> Iterator[Stack]:
    """This process publishes to the private broker and reads the private result backend."""
    from config.celery import app

    storage = stack.run_dir / "storage"
    storage.mkdir(exist_ok=True)
    original = (settings.STORAGE_ROOT, app.conf.result_backend)
    settings.STORAGE_ROOT = storage
    app.conf["result_backend"] = stack.redis.url
    _forget_backend(app)
    stack.storage_root = storage
    stack.database_name = str(connection.settings_dict["NAME"])
    with celery_broker(stack.rabbitmq.url):
        yield stack
    settings.STORAGE_ROOT, backend = original
    app.conf["result_backend"] = backend
    _forget_backend(app)


def _forget_backend(app: Any) -> None:
    """Drop the app's cached result backend; the next use creates it from the configured URL.

    Private attributes (celery/app/base.py ``Celery._backend``), as in ``celery_broker``.
    """
    app._backend_cache = None
    with contextlib.suppress(AttributeError):
        del app._local.backend


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not RESULTS:
        return
    terminalreporter.section("chaos: one line per fault")
    for line in summary_lines():
        terminalreporter.write_line(line)
    report = os.environ.get("CROSSLINK_CHAOS_REPORT")
    if report:
        Path(report).parent.mkdir(parents=True, exist_ok=True)
        Path(report).write_text("\n".join(summary_lines()) + "\n")


@pytest.fixture
def rig(chaos_wire: Stack, transactional_db: None, request: pytest.FixtureRequest) -> Iterator[Rig]:
    """The workers of one fault test; all stopped at the end, whatever happened."""
    name = request.node.name.removeprefix("test_")[:60]
    rig = Rig(stack=chaos_wire, name=name)
    try:
        yield rig
    finally:
        rig.stop_all()
