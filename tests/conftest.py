"""Fixtures for tests that cross the two systems: a private broker vhost, a private store (a
directory, or a bucket on a test S3 server), System A's test database, and System A's and
System B's real workers.

Tests marked ``both_stores`` run twice: on the local directory and on S3-compatible object
storage (harness.s3). Every other test runs on the local directory only.
"""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from config.testing import (  # noqa: F401 - the fixture overrides pytest-django's
    celery_broker,
    django_db_modify_db_settings,
)
from harness.http import answers
from harness.ports import free_port
from harness.processes import A_BIN, SYSTEM_A, ManagedProcess, celery_worker
from harness.rabbitmq import throwaway_vhost
from harness.s3 import ObjectStorage, object_storage
from harness.stores import LocalStoreView, S3StoreView, StoreView
from harness.waiting import wait_for
from shared_schema.names import QUEUE_SYSTEM_A, QUEUE_SYSTEM_B


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Scratch space for this run: storage root, worker logs."""
    return tmp_path_factory.mktemp("crosslink")


@pytest.fixture(scope="session")
def broker_url() -> Iterator[str]:
    with throwaway_vhost(settings.CELERY_BROKER_URL) as url:
        yield url


@pytest.fixture(scope="session")
def storage_root(run_dir: Path) -> Path:
    root = run_dir / "storage"
    root.mkdir()
    return root


@pytest.fixture(scope="session")
def object_store() -> Iterator[ObjectStorage]:
    """The test S3 server, its bucket and users: started only when a test runs on S3, stopped
    at the end of the session."""
    with object_storage() as storage:
        yield storage


STORES = {"local": None, "s3": "s3"}
"""``both_stores`` parameters: the local store's is None, the value of every unmarked test's
``store``, so the local half of a marked test shares the session's workers with the others."""


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "store" in metafunc.fixturenames and metafunc.definition.get_closest_marker("both_stores"):
        metafunc.parametrize(
            "store", list(STORES.values()), ids=list(STORES), indirect=True, scope="session"
        )


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests on S3 last, together (after pytest's own grouping by session parameters): the
    session switches stores, and restarts the workers, once."""
    items.sort(key=_on_s3)  # stable: every other test keeps its place


def _on_s3(item: pytest.Item) -> bool:
    callspec = getattr(item, "callspec", None)
    return callspec is not None and callspec.params.get("store") == STORES["s3"]


@pytest.fixture(scope="session")
def store(request: pytest.FixtureRequest, storage_root: Path) -> StoreView:
    """The store of this part of the session. Changing it restarts the workers and the web
    server (they depend on it), once: pytest runs the tests of one store together."""
    if getattr(request, "param", None) == "s3":
        return S3StoreView(request.getfixturevalue("object_store"))
    return LocalStoreView(storage_root)


@pytest.fixture(scope="session")
def wire(
    broker_url: str, store: StoreView, django_db_setup: None, django_db_blocker: object
) -> Iterator[dict[str, str]]:
    """Point this process at the private vhost and store, and return the environment that
    points workers at them and at A's test database.

    This process acts as System A (it uploads through A's services), so it gets A's variables;
    the environment returned is A's too. B's worker adds B's own (``b_env``).
    """
    original_root = settings.STORAGE_ROOT
    settings.STORAGE_ROOT = (
        Path(store.location) if isinstance(store, LocalStoreView) else store.location
    )
    a_env = store.env("system_a")
    original_env = {name: os.environ.get(name) for name in a_env}
    os.environ.update(a_env)
    db = connection.settings_dict
    database_url = (
        f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}"
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "VIRTUAL_ENV"))},
        "CELERY_BROKER_URL": broker_url,
        "CELERY_RESULT_BACKEND": settings.CELERY_RESULT_BACKEND,
        "DATABASE_URL": database_url,
        **a_env,
        "DJANGO_DEBUG": "true",
        "PYTHONUNBUFFERED": "1",
        # Tests read what happened from structured events (harness.logs), not log wording.
        "CROSSLINK_LOG_FORMAT": "json",
    }
    try:
        with celery_broker(broker_url):
            yield env
    finally:
        settings.STORAGE_ROOT = original_root
        for name, value in original_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture(scope="session")
def b_env(wire: dict[str, str], store: StoreView) -> dict[str, str]:
    """B's worker's environment: the wire, with B's own store variables (its own user)."""
    return {**wire, **store.env("system_b")}


@pytest.fixture(scope="session")
def web(wire: dict[str, str], run_dir: Path) -> Iterator[str]:
    """A's web server on a free port, on the same test database, broker and storage as the
    workers; yields its base URL."""
    port = free_port()
    process = ManagedProcess(
        name="web a",
        argv=[str(A_BIN / "python"), "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=SYSTEM_A,
        env=wire,
        log_path=run_dir / "logs" / "web-a.log",
        ready_marker="Quit the server with",
    )
    base = f"http://127.0.0.1:{port}"
    try:
        process.start()
        wait_for(
            lambda: answers(f"{base}/healthz"),
            timeout=30,
            what="A's web server to be healthy",
            describe=process.tail,
        )
        yield base
    finally:
        process.stop()


def _started(process: ManagedProcess) -> Iterator[ManagedProcess]:
    try:
        process.start()
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="session")
def worker_a(wire: dict[str, str], run_dir: Path) -> Iterator[ManagedProcess]:
    yield from _started(
        celery_worker(system="a", env=wire, log_dir=run_dir / "logs", queues=QUEUE_SYSTEM_A)
    )


@pytest.fixture(scope="session")
def worker_b(b_env: dict[str, str], run_dir: Path) -> Iterator[ManagedProcess]:
    b_dir = run_dir / "b-cwd"
    b_dir.mkdir(exist_ok=True)
    yield from _started(celery_worker(system="b", env=b_env, log_dir=b_dir, queues=QUEUE_SYSTEM_B))


@pytest.fixture
def workers(
    worker_a: ManagedProcess, worker_b: ManagedProcess, transactional_db: None
) -> Iterator[tuple[ManagedProcess, ManagedProcess]]:
    """Both systems' workers, running; their logs are printed if the test fails."""
    yield worker_a, worker_b
    assert worker_a.alive(), f"A's worker died:\n{worker_a.tail()}"
    assert worker_b.alive(), f"B's worker died:\n{worker_b.tail()}"


CHAOS = Path(__file__).resolve().parent / "chaos"
COMPOSE = Path(__file__).resolve().parent / "compose"


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """The fault tests need a session of their own, pointed at private services
    (tests/chaos/conftest.py), and the compose tests a Docker engine (make test-compose):
    collect each only when a path inside its folder is given."""
    own = collection_path.resolve()
    if own not in (CHAOS, COMPOSE):
        return None
    asked = (Path(arg.split("::")[0]).resolve() for arg in config.args)
    return not any(path == own or own in path.parents for path in asked)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> object:
    report = yield
    if report.when == "call" and report.failed:
        for name in ("worker_a", "worker_b"):
            process = item.funcargs.get(name) if hasattr(item, "funcargs") else None
            if isinstance(process, ManagedProcess):
                report.sections.append((f"{process.name} log", process.tail(80)))
    return report
