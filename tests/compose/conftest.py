"""The compose stack for real: docker-compose.yml (plus the override of images and ports that
scripts/compose_ci.sh writes) brought up on a Docker engine, used from the host and torn down.

Run by `make test-compose`, which starts the engine and says where everything is through
CROSSLINK_COMPOSE_* variables; these tests are collected only when tests/compose is asked for.
"""

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.compose import PASSWORD, USERNAME, Compose, read_dotenv


def write_timings(compose: Compose) -> None:
    report = os.environ.get("CROSSLINK_COMPOSE_REPORT")
    if report:
        with Path(report).open("a") as out:
            for what, seconds in compose.timings.items():
                out.write(f"{what}: {seconds:.0f}s\n")


@pytest.fixture(scope="session")
def compose() -> Iterator[Compose]:
    missing = [
        name
        for name in ("CROSSLINK_COMPOSE_ARGS", "CROSSLINK_COMPOSE_BIN", "CROSSLINK_COMPOSE_PORTS")
        if not os.environ.get(name)
    ]
    if missing:
        pytest.fail(f"run these through `make test-compose` ({', '.join(missing)} unset)")
    argv = [
        os.environ["CROSSLINK_COMPOSE_BIN"],
        *Path(os.environ["CROSSLINK_COMPOSE_ARGS"]).read_text().splitlines(),
    ]
    compose = Compose(
        argv=argv,
        ports=json.loads(Path(os.environ["CROSSLINK_COMPOSE_PORTS"]).read_text()),
        dotenv=read_dotenv(Path(os.environ["CROSSLINK_COMPOSE_ENV"])),
    )
    try:
        compose.timings["cold start to healthy (up --wait, fresh volumes)"] = compose.up()
        # Compose makes no user: an operator creates one, as docs/deployment.md says.
        compose.run(
            "exec",
            "--no-TTY",
            "--env",
            f"DJANGO_SUPERUSER_PASSWORD={PASSWORD}",
            "web",
            "python",
            "manage.py",
            "createsuperuser",
            "--no-input",
            "--username",
            USERNAME,
            "--email",
            f"{USERNAME}@example.com",
        )
        yield compose
    finally:
        started = time.monotonic()
        compose.run("down", "--volumes", "--remove-orphans", "--timeout", "10", check=False)
        compose.timings["down --volumes"] = time.monotonic() - started
        write_timings(compose)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> object:
    report = yield
    if report.when == "call" and report.failed:
        stack = item.funcargs.get("compose") if hasattr(item, "funcargs") else None
        if isinstance(stack, Compose):
            report.sections.append(("compose", stack.describe()))
    return report
