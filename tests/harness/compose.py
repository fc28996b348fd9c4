"""`docker compose` against the engine that scripts/compose_ci.sh started, with the files it
wrote (docker-compose.yml plus an override of images and ports), as an operator would type it."""

import http.cookiejar
import json
import os
import re
import subprocess
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.http import request
from harness.processes import REPO
from harness.waiting import wait_for

UP_TIMEOUT_S = 600
COMMAND_TIMEOUT_S = 300
USERNAME = "operator"
PASSWORD = "compose-smoke-password"  # a throwaway user in a throwaway stack
FINISH_TIMEOUT_S = 180
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
GOOD_CSV = b"id,name,score\n1,ada,9.5\n2,grace,8.25\n"
# Big enough that B is still reading it when a test breaks B's worker (tens of seconds on
# these machines), small enough to upload in a few.
IN_FLIGHT_ROWS = 1_500_000


@dataclass
class Compose:
    """`docker compose` with this run's files, as an operator would type it."""

    argv: list[str]
    ports: dict[str, dict[str, int]]
    dotenv: dict[str, str]
    timings: dict[str, float] = field(default_factory=dict)
    # Given to every `up` (e.g. --scale worker-b=3), so a service brought back keeps its scale.
    up_options: tuple[str, ...] = ()

    def run(
        self, *args: str, timeout: float = COMMAND_TIMEOUT_S, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [*self.argv, *args],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"docker compose {' '.join(args)} exited {result.returncode}:\n"
                f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}\n{self.describe()}"
            )
        return result

    def config(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.run("config", "--format", "json").stdout)
        return document

    def containers(self) -> list[dict[str, Any]]:
        """`docker compose ps --all`, one record per container (JSON lines, or one array)."""
        out = self.run("ps", "--all", "--format", "json").stdout.strip()
        if out.startswith("["):
            records: list[dict[str, Any]] = json.loads(out)
            return records
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def url(self, service: str, port: int, path: str = "") -> str:
        return f"http://127.0.0.1:{self.ports[service][str(port)]}{path}"

    def describe(self) -> str:
        """What a failing test prints: the containers and the last lines of each one's log."""
        try:
            ps = subprocess.run(
                [*self.argv, "ps", "--all"], cwd=REPO, capture_output=True, text=True, timeout=60
            ).stdout
            logs = subprocess.run(
                [*self.argv, "logs", "--no-color", "--tail", "25"],
                cwd=REPO,
                capture_output=True,
                text=True,
                timeout=60,
            ).stdout
        except (OSError, subprocess.SubprocessError) as error:
            return f"(could not ask compose: {error})"
        return f"--- containers ---\n{ps}\n--- logs ---\n{logs[-12000:]}"

    def up(self, *services: str) -> float:
        """`up --detach --wait`: returns once every service is healthy (or done); seconds."""
        started = time.monotonic()
        self.run(
            "up",
            "--detach",
            "--wait",
            "--wait-timeout",
            str(UP_TIMEOUT_S),
            *self.up_options,
            *services,
            timeout=UP_TIMEOUT_S + 60,
        )
        return time.monotonic() - started

    def logs_by_container(self, service: str) -> dict[str, str]:
        """Each of ``service``'s containers' log ("worker-b-2": its lines), from `compose logs`,
        which starts every line with the container's name and a bar."""
        out = self.run("logs", "--no-color", service).stdout
        logs: dict[str, list[str]] = {}
        for line in out.splitlines():
            # Compose clears the terminal's line (ESC [2K) before some lines, colour or not.
            match = re.match(r"(\S+)\s+\| ?(.*)", ANSI_ESCAPE.sub("", line))
            if match:
                logs.setdefault(match.group(1), []).append(match.group(2))
        return {name: "\n".join(lines) for name, lines in logs.items()}


def read_dotenv(path: Path) -> dict[str, str]:
    pairs = (line.partition("=") for line in path.read_text().splitlines())
    return {name: value for name, sep, value in pairs if sep and not name.startswith("#")}


def write_timings(compose: Compose, *, variant: str) -> None:
    report = os.environ.get("CROSSLINK_COMPOSE_REPORT")
    if report:
        with Path(report).open("a") as out:
            for what, seconds in compose.timings.items():
                out.write(f"{variant}: {what}: {seconds:.0f}s\n")


@contextmanager
def stack(
    *, args_env: str, ports_env: str, variant: str, up_options: tuple[str, ...] = ()
) -> Iterator[Compose]:
    """The stack of one variant, up and with an operator's login; down (volumes and all) after."""
    missing = [
        name
        for name in ("CROSSLINK_COMPOSE_BIN", "CROSSLINK_COMPOSE_ENV", args_env, ports_env)
        if not os.environ.get(name)
    ]
    if missing:
        pytest.fail(f"run these through `make test-compose` ({', '.join(missing)} unset)")
    argv = [
        os.environ["CROSSLINK_COMPOSE_BIN"],
        *Path(os.environ[args_env]).read_text().splitlines(),
    ]
    compose = Compose(
        argv=argv,
        ports=json.loads(Path(os.environ[ports_env]).read_text()),
        dotenv=read_dotenv(Path(os.environ["CROSSLINK_COMPOSE_ENV"])),
        up_options=up_options,
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
            f"--username={USERNAME}",
            f"--email={USERNAME}@example.com",
        )
        yield compose
    finally:
        started = time.monotonic()
        compose.run("down", "--volumes", "--remove-orphans", "--timeout", "10", check=False)
        compose.timings["down --volumes"] = time.monotonic() - started
        write_timings(compose, variant=variant)


def in_flight_csv() -> bytes:
    rows = (f"{i},name-{i},{i % 100}.5\n" for i in range(IN_FLIGHT_ROWS))
    return b"id,name,score\n" + "".join(rows).encode()


class Page:
    """Just enough of a browser for Django's forms: cookies and the CSRF token."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def get(self, path: str) -> bytes:
        with self.opener.open(self.base + path, timeout=60) as response:
            body: bytes = response.read()
            return body

    def csrf(self, path: str) -> str:
        match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', self.get(path))
        assert match, f"no CSRF token on {path}"
        return match.group(1).decode()

    def post(self, path: str, data: bytes, content_type: str) -> str:
        req = urllib.request.Request(
            self.base + path,
            data=data,
            headers={"Content-Type": content_type, "Referer": self.base + path},
        )
        with self.opener.open(req, timeout=60) as response:
            body: bytes = response.read()
            return body.decode()

    def login(self) -> str:
        form = {"csrfmiddlewaretoken": self.csrf("/login/"), "username": USERNAME}
        form["password"] = PASSWORD
        return self.post(
            "/login/", urllib.parse.urlencode(form).encode(), "application/x-www-form-urlencoded"
        )

    def upload(self, name: str, content: bytes) -> str:
        boundary = uuid.uuid4().hex
        body = (
            (
                f"--{boundary}\r\n"
                'Content-Disposition: form-data; name="csrfmiddlewaretoken"\r\n\r\n'
                f"{self.csrf('/')}\r\n--{boundary}\r\n"
                f'Content-Disposition: form-data; name="file"; filename="{name}"\r\n'
                "Content-Type: text/csv\r\n\r\n"
            ).encode()
            + content
            + f"\r\n--{boundary}--\r\n".encode()
        )
        return self.post("/", body, f"multipart/form-data; boundary={boundary}")


class Api:
    """The JSON API with a token, as a script would use it."""

    def __init__(self, base: str) -> None:
        self.base = base
        reply = request(
            "POST", f"{base}/api/token/", form={"username": USERNAME, "password": PASSWORD}
        )
        assert reply.status == 200, reply.body
        self.headers = {"Authorization": f"Token {reply.json()['token']}"}

    def upload(self, name: str, content: bytes) -> dict[str, Any]:
        reply = request(
            "POST", f"{self.base}/api/files/", headers=self.headers, files={"file": (name, content)}
        )
        assert reply.status == 201, reply.body[:500]
        file: dict[str, Any] = reply.json()
        return file

    def file(self, file_id: int) -> dict[str, Any]:
        reply = request("GET", f"{self.base}/api/files/{file_id}/", headers=self.headers)
        assert reply.status == 200, reply.body[:500]
        file: dict[str, Any] = reply.json()
        return file

    def files(self) -> list[dict[str, Any]]:
        """The first page of the user's files, newest first."""
        reply = request("GET", f"{self.base}/api/files/", headers=self.headers)
        assert reply.status == 200, reply.body[:500]
        files: list[dict[str, Any]] = reply.json()["results"]
        return files

    def by_name(self, name: str) -> dict[str, Any]:
        reply = request("GET", f"{self.base}/api/files/", headers=self.headers)
        assert reply.status == 200, reply.body[:500]
        matches = [f for f in reply.json()["results"] if f["name"] == name]
        assert len(matches) == 1, f"{name}: {matches}"
        return matches[0]

    def delete(self, file_id: int) -> None:
        reply = request("DELETE", f"{self.base}/api/files/{file_id}/", headers=self.headers)
        assert reply.status == 204, reply.body[:500]

    def task_ids(self, file_id: int) -> list[str]:
        """The Celery task id of each of the file's attempts (B's task, as A sent it)."""
        return [attempt["task_id"] for attempt in self.file(file_id)["attempt_list"]]

    def wait_started(self, compose: Compose, file_id: int) -> None:
        """Until B has started on the file (its progress, from the result backend)."""
        wait_for(
            lambda: (
                (self.file(file_id).get("progress") or {}).get("state") in ("STARTED", "PROGRESS")
            ),
            timeout=120,
            what=f"B to start on file {file_id}",
            interval=0.2,
            describe=compose.describe,
        )

    def download(self, file_id: int) -> bytes:
        reply = request("GET", f"{self.base}/api/files/{file_id}/download/", headers=self.headers)
        assert reply.status == 200, reply.body[:500]
        return reply.body

    def finished(self, compose: Compose, file_id: int) -> dict[str, Any]:
        return wait_for(
            lambda: (f := self.file(file_id))["status"] in ("SUCCESS", "FAILED") and f,
            timeout=FINISH_TIMEOUT_S,
            what=f"file {file_id} to finish",
            interval=0.5,
            describe=compose.describe,
        )


# --- The compose files as compose merges them, without an engine ---------------------------

S3_VARIANT = REPO / "deploy" / "storage" / "compose.s3.yml"


@dataclass(frozen=True)
class _Reset:
    """`!reset`: the key is removed from what the files before defined."""


@dataclass(frozen=True)
class _Override:
    """`!override`: the value replaces what the files before defined, unmerged."""

    value: Any


class _ComposeLoader(yaml.SafeLoader):
    pass


_ComposeLoader.add_constructor("!reset", lambda loader, node: _Reset())
_ComposeLoader.add_constructor(
    "!override",
    lambda loader, node: _Override(
        loader.construct_sequence(node, deep=True)
        if isinstance(node, yaml.SequenceNode)
        else loader.construct_mapping(node, deep=True)
        if isinstance(node, yaml.MappingNode)
        else loader.construct_scalar(node)
    ),
)

# Lists compose merges as sets (https://docs.docker.com/reference/compose-file/merge/);
# any other list, and every scalar, of a later file replaces the earlier one.
_UNION_KEYS = {"networks", "cap_add", "cap_drop", "security_opt", "tmpfs", "volumes", "ports"}


def _merged(base: Any, later: Any, *, key: str = "") -> Any:
    if isinstance(later, _Override):
        return later.value
    if isinstance(base, dict) and isinstance(later, dict):
        result = dict(base)
        for name, value in later.items():
            if isinstance(value, _Reset):
                result.pop(name, None)
            elif name in result:
                result[name] = _merged(result[name], value, key=name)
            else:
                result[name] = _merged(None, value, key=name)
        return result
    if isinstance(base, list) and isinstance(later, list) and key in _UNION_KEYS:
        return base + [item for item in later if item not in base]
    if isinstance(later, dict):
        return _merged({}, later, key=key)
    return later


def compose_files_merged(*paths: Path) -> dict[str, Any]:
    """The compose files, each merged over the ones before as `docker compose -f ... -f ...`
    does for what these files use: mappings key by key, the lists of _UNION_KEYS as sets,
    `!reset` and `!override`. Interpolation is left undone (the ${VAR} stay as written)."""
    merged: dict[str, Any] = {}
    for path in paths:
        # A SafeLoader with two tags of its own: it builds no arbitrary objects.
        document = yaml.load(path.read_text(), Loader=_ComposeLoader)  # noqa: S506
        merged = _merged(merged, document)
    return merged
