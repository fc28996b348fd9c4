"""The compose stack for real: docker-compose.yml (plus the override of images and ports that
scripts/compose_ci.sh writes) brought up on a Docker engine, used from the host and torn down;
once as it is (the shared volume), once with object storage (deploy/storage/compose.s3.yml).

Run by `make test-compose`, which starts the engine and says where everything is through
CROSSLINK_COMPOSE_* variables; these tests are collected only when tests/compose is asked for.
Each variant's stack lives as long as its test module: one stack at a time.
"""

from collections.abc import Iterator

import pytest

from harness.compose import Compose, stack


@pytest.fixture(scope="module")
def compose() -> Iterator[Compose]:
    """docker-compose.yml as it is: A and B share the storage volume."""
    with stack(
        args_env="CROSSLINK_COMPOSE_ARGS", ports_env="CROSSLINK_COMPOSE_PORTS", variant="volume"
    ) as running:
        yield running


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> object:
    report = yield
    if report.when == "call" and report.failed:
        funcargs = getattr(item, "funcargs", {})
        for stack_in_use in {
            id(v): v for v in funcargs.values() if isinstance(v, Compose)
        }.values():
            report.sections.append(("compose", stack_in_use.describe()))
    return report
