"""Run what docker compose would run, without an engine: for each app service, the command (or
the image's CMD) and the environment from docker-compose.yml and the Dockerfile, with .env's
secrets, the hosts pointed at the local services, and the broker users of permissions.json on a
throwaway vhost. Each runs from its system's own environment; each healthcheck is run as
compose would run it. Then a file uploaded through the web process reaches SUCCESS, and Flower
saw the work."""

import base64
import http.cookiejar
import json
import os
import re
import secrets
import socket
import subprocess
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from harness.databases import throwaway_database as harness_throwaway_database
from harness.deploy import (
    DOCKERFILES,
    ThrowawayBroker,
    compose_file,
    dockerfile_cmd,
    dockerfile_instructions,
    throwaway_broker_users,
)
from harness.ports import free_port
from harness.processes import A_BIN, B_BIN, SYSTEM_A, ManagedProcess
from harness.redis_acl import ThrowawayRedisUsers, throwaway_redis_users
from harness.waiting import wait_for

pytestmark = pytest.mark.integration

SYSTEM = {"migrate": "a", "web": "a", "worker-a": "a", "beat": "a", "flower": "a", "worker-b": "b"}
BIN = {"a": A_BIN, "b": B_BIN}
READY = {
    "worker-a": " ready.",
    "worker-b": " ready.",
    "web": "Listening at:",
    "beat": "beat: Starting",
    "flower": "Visit me at",
}
HEALTHY_TIMEOUT_S = 60
FINISH_TIMEOUT_S = 90
LOCAL_POSTGRES = "postgres://postgres@127.0.0.1:5432/postgres"
GOOD_CSV = b"id,name,score\n1,ada,9.5\n2,grace,8.25\n"


def interpolate(value: str, dotenv: Mapping[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:?message} and $$, from .env only (as compose reads it)."""

    def variable(match: re.Match[str]) -> str:
        name = match.group(1)
        assert dotenv.get(name), f"{name} is required and missing from .env"
        return dotenv[name]

    def optional(match: re.Match[str]) -> str:
        return dotenv.get(match.group(1)) or match.group(2)

    value = re.sub(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*):-([^}]*)\}", optional, value)
    value = re.sub(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?\?[^}]*)?\}", variable, value)
    return value.replace("$$", "$")


@dataclass
class LocalHosts:
    """Where the compose hosts, users and paths are on this machine, for this run only."""

    broker: ThrowawayBroker
    redis: ThrowawayRedisUsers
    database: str
    run_dir: Path
    ports: dict[int, int]

    def url(self, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme == "amqp":
            assert parts.hostname == "rabbitmq"
            assert parts.path == "/crosslink"
            user = self.broker.prefix + (parts.username or "")
            netloc = f"{user}:{parts.password}@127.0.0.1:5672"
            return urlunsplit(parts._replace(netloc=netloc, path="/" + self.broker.rules.vhost))
        if parts.scheme == "postgres":
            assert parts.hostname == "postgres"
            return f"postgres://postgres@127.0.0.1:5432/{self.database}"
        if parts.scheme == "redis":
            assert parts.hostname == "redis"
            # Compose's Redis users are the throwaway ones on the local Redis.
            user = self.redis.prefix + (parts.username or "")
            netloc = f"{user}:{parts.password}@127.0.0.1:{parts.port or 6379}"
            return urlunsplit(parts._replace(netloc=netloc))
        return value

    def text(self, value: str) -> str:
        if re.match(r"^[a-z]+://", value):
            return self.url(value)
        value = value.replace("/data/storage", str(self.run_dir / "storage"))
        value = value.replace("/app/staticfiles", str(self.run_dir / "static"))
        value = value.replace("/tmp/", f"{self.run_dir}/")
        for container_port, local_port in self.ports.items():
            value = re.sub(rf"(?<=[:=]){container_port}\b", str(local_port), value)
        return value.replace("0.0.0.0", "127.0.0.1")  # noqa: S104 (replaced, not bound)


def image_env(system: str) -> dict[str, str]:
    """The Dockerfile's ENV of the runtime stage (PATH is the venv's here)."""
    env: dict[str, str] = {}
    for instruction in dockerfile_instructions(DOCKERFILES[system]):
        if instruction.keyword == "FROM":
            env = {}
        elif instruction.keyword == "ENV":
            for pair in instruction.arguments.split():
                key, _, value = pair.partition("=")
                if key != "PATH":
                    env[key] = value
    return env


@dataclass
class Service:
    name: str
    argv: list[str]
    env: dict[str, str]
    cwd: Path
    healthcheck: list[str] | None


def service(name: str, hosts: LocalHosts, dotenv: Mapping[str, str]) -> Service:
    definition: dict[str, Any] = compose_file()["services"][name]
    system = SYSTEM[name]
    argv = list(definition.get("command") or dockerfile_cmd(DOCKERFILES[system]))
    raw_env = {k: str(v) for k, v in definition.get("environment", {}).items()}
    env = {
        **{k: hosts.text(v) for k, v in image_env(system).items()},
        **{k: hosts.text(interpolate(v, dotenv)) for k, v in raw_env.items()},
        "PATH": f"{BIN[system]}:{os.environ['PATH']}",
        "HOME": str(hosts.run_dir),
        "HOSTNAME": socket.gethostname(),
    }
    # A's image runs from /app, which holds manage.py, config/ and files/; B's holds nothing.
    cwd = SYSTEM_A if system == "a" else hosts.run_dir / "b-cwd"
    cwd.mkdir(exist_ok=True)
    test = definition.get("healthcheck", {}).get("test")
    healthcheck = None
    if test and test[0] == "CMD":
        healthcheck = [hosts.text(interpolate(arg, dotenv)) for arg in test[1:]]
    elif test and test[0] == "CMD-SHELL":
        healthcheck = ["sh", "-c", hosts.text(interpolate(test[1], dotenv))]
    return Service(
        name=name,
        argv=[str(BIN[system] / argv[0]), *(hosts.text(arg) for arg in argv[1:])],
        env=env,
        cwd=cwd,
        healthcheck=healthcheck,
    )


def healthy(service: Service) -> bool:
    assert service.healthcheck is not None, f"{service.name} has no healthcheck"
    result = subprocess.run(
        service.healthcheck,
        env=service.env,
        cwd=service.cwd,
        capture_output=True,
        timeout=60,
    )
    return result.returncode == 0


@pytest.fixture(scope="module")
def throwaway_database() -> Iterator[str]:
    name = f"test_crosslink_compose_{uuid.uuid4().hex[:10]}"
    with harness_throwaway_database(LOCAL_POSTGRES, name):
        yield name


@dataclass
class Stack:
    hosts: LocalHosts
    dotenv: dict[str, str]
    processes: dict[str, ManagedProcess]
    services: dict[str, Service]
    migrate: subprocess.CompletedProcess[str] | None = None


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, throwaway_database: str) -> Iterator[Stack]:
    run_dir = tmp_path_factory.mktemp("compose")
    (run_dir / "storage").mkdir()
    with throwaway_broker_users() as broker, throwaway_redis_users() as redis:
        # .env, as `make env` would write it; the broker passwords are the throwaway users'.
        dotenv = {
            "RABBITMQ_SYSTEM_A_PASSWORD": broker.user("system_a")[1],
            "RABBITMQ_SYSTEM_B_PASSWORD": broker.user("system_b")[1],
            "RABBITMQ_FLOWER_PASSWORD": broker.user("flower")[1],
            "RABBITMQ_ADMIN_PASSWORD": broker.user("admin")[1],
            "POSTGRES_PASSWORD": secrets.token_hex(8),
            "DJANGO_SECRET_KEY": secrets.token_hex(32),
            "FLOWER_PASSWORD": secrets.token_hex(8),
            "REDIS_SYSTEM_A_PASSWORD": redis.user("system_a")[1],
            "REDIS_SYSTEM_B_PASSWORD": redis.user("system_b")[1],
            "REDIS_FLOWER_PASSWORD": redis.user("flower")[1],
            # The demo over plain HTTP, as .env.example describes it.
            "DJANGO_HTTPS": "false",
        }
        hosts = LocalHosts(
            broker=broker,
            redis=redis,
            database=throwaway_database,
            run_dir=run_dir,
            ports={8000: free_port(), 5555: free_port()},
        )
        stack = Stack(hosts=hosts, dotenv=dotenv, processes={}, services={})
        try:
            migrate = service("migrate", hosts, dotenv)
            stack.migrate = subprocess.run(
                migrate.argv,
                cwd=migrate.cwd,
                env=migrate.env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert stack.migrate.returncode == 0, stack.migrate.stdout + stack.migrate.stderr
            # Compose has no demo user: an operator creates one, as the README says.
            subprocess.run(
                [
                    *migrate.argv[:2],
                    "createsuperuser",
                    "--no-input",
                    "--username",
                    USERNAME,
                    "--email",
                    f"{USERNAME}@example.com",
                ],
                cwd=migrate.cwd,
                env={**migrate.env, "DJANGO_SUPERUSER_PASSWORD": PASSWORD},
                capture_output=True,
                text=True,
                timeout=120,
                check=True,
            )
            # compose's order: A's worker, then B's (it publishes to A's queue), then the web.
            for name in ("worker-a", "worker-b", "web", "beat", "flower"):
                start(stack, name)
            yield stack
        finally:
            for process in reversed(stack.processes.values()):
                process.stop()


def start(stack: Stack, name: str) -> ManagedProcess:
    """Start a long-running service and wait until its own healthcheck passes."""
    svc = service(name, stack.hosts, stack.dotenv)
    process = ManagedProcess(
        name=name,
        argv=svc.argv,
        cwd=svc.cwd,
        env=svc.env,
        log_path=stack.hosts.run_dir / "logs" / f"{name}.log",
        ready_marker=READY[name],
    )
    stack.processes[name] = process
    stack.services[name] = svc
    process.start()
    wait_for(
        lambda: healthy(svc),
        timeout=HEALTHY_TIMEOUT_S,
        what=f"{name}'s healthcheck to pass",
        interval=1,
        describe=process.tail,
    )
    return process


USERNAME = "operator"
PASSWORD = "compose-run-password"  # a throwaway user in a throwaway database


class Browser:
    """Just enough of a browser for Django forms: cookies and the CSRF token."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def get(self, path: str) -> str:
        with self.opener.open(self.base + path, timeout=30) as response:
            body: bytes = response.read()
            return body.decode()

    def login(self, path: str, *, username: str, password: str) -> str:
        page = self.get(path)
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert match, "no CSRF token on the login page"
        form = {"csrfmiddlewaretoken": match.group(1), "username": username, "password": password}
        request = urllib.request.Request(
            self.base + path,
            data=urllib.parse.urlencode(form).encode(),
            headers={"Referer": self.base + path},
        )
        with self.opener.open(request, timeout=30) as response:
            body: bytes = response.read()
            return body.decode()

    def upload(self, path: str, *, name: str, content: bytes) -> str:
        page = self.get(path)
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert match, "no CSRF token on the upload page"
        boundary = uuid.uuid4().hex
        body = (
            (
                f"--{boundary}\r\n"
                'Content-Disposition: form-data; name="csrfmiddlewaretoken"\r\n\r\n'
                f"{match.group(1)}\r\n"
                f"--{boundary}\r\n"
                f'Content-Disposition: form-data; name="file"; filename="{name}"\r\n'
                "Content-Type: text/csv\r\n\r\n"
            ).encode()
            + content
            + f"\r\n--{boundary}--\r\n".encode()
        )
        request = urllib.request.Request(
            self.base + path,
            data=body,
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
        with self.opener.open(request, timeout=30) as response:
            page_after: bytes = response.read()
            return page_after.decode()


def file_row(database: str, name: str) -> tuple[str, dict[str, Any] | None] | None:
    with psycopg.connect(f"postgres://postgres@127.0.0.1:5432/{database}") as connection:
        row = connection.execute(
            "SELECT status, result FROM files_file WHERE original_name = %s", (name,)
        ).fetchone()
    return (row[0], row[1]) if row else None


def test_migrate_runs_to_completion_as_compose_runs_it(stack: Stack) -> None:
    assert stack.migrate is not None
    assert "Applying files.0001_initial... OK" in stack.migrate.stdout


def test_every_long_running_app_service_starts_and_passes_its_own_healthcheck(
    stack: Stack,
) -> None:
    assert set(stack.processes) == {"worker-a", "worker-b", "web", "beat", "flower"}
    for name, process in stack.processes.items():
        assert process.alive(), f"{name} died:\n{process.tail()}"
        assert healthy(stack.services[name]), name


def test_each_app_service_connects_as_its_own_least_privilege_broker_user(stack: Stack) -> None:
    prefix = stack.hosts.broker.prefix
    expected = {"worker-a": "system_a", "web": "system_a", "worker-b": "system_b"}
    expected |= {"beat": "system_a", "flower": "flower"}
    for name, user in expected.items():
        assert urlsplit(stack.services[name].env["CELERY_BROKER_URL"]).username == prefix + user


def test_a_file_uploaded_through_the_web_process_reaches_success(stack: Stack) -> None:
    base = f"http://127.0.0.1:{stack.hosts.ports[8000]}"
    name = f"compose-{uuid.uuid4().hex[:6]}.csv"

    browser = Browser(base)
    browser.login("/login/", username=USERNAME, password=PASSWORD)
    page = browser.upload("/", name=name, content=GOOD_CSV)
    assert name in page

    def describe() -> str:
        return "\n".join(f"--- {n} ---\n{p.tail(15)}" for n, p in stack.processes.items())

    status, result = wait_for(
        lambda: (row := file_row(stack.hosts.database, name)) and row[0] == "SUCCESS" and row,
        timeout=FINISH_TIMEOUT_S,
        what=f"{name} to reach SUCCESS",
        interval=0.5,
        describe=describe,
    )
    assert status == "SUCCESS"
    assert result is not None
    assert result["rows"] == 2


def test_flower_saw_both_systems_tasks_through_the_events_they_send(stack: Stack) -> None:
    base = f"http://127.0.0.1:{stack.hosts.ports[5555]}"
    credentials = base64.b64encode(f"admin:{stack.dotenv['FLOWER_PASSWORD']}".encode()).decode()

    def task_names() -> set[str]:
        request = urllib.request.Request(
            f"{base}/api/tasks", headers={"Authorization": f"Basic {credentials}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            tasks: dict[str, dict[str, Any]] = json.loads(response.read())
        return {task["name"] for task in tasks.values() if task.get("name")}

    names = wait_for(
        lambda: (found := task_names()) and "remote.processing" in found and found,
        timeout=HEALTHY_TIMEOUT_S,
        what="Flower to list B's task",
        describe=lambda: stack.processes["flower"].tail(),
    )
    assert "remote.processing" in names
    assert "system_a.file_processing_succeeded" in names

    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{base}/api/tasks", timeout=10)
    assert refused.value.code == 401
