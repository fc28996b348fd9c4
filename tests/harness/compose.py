"""`docker compose` against the engine that scripts/compose_ci.sh started, with the files it
wrote (docker-compose.yml plus an override of images and ports), as an operator would type it."""

import json
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.processes import REPO

UP_TIMEOUT_S = 600
COMMAND_TIMEOUT_S = 300
USERNAME = "operator"
PASSWORD = "compose-smoke-password"  # a throwaway user in a throwaway stack


@dataclass
class Compose:
    """`docker compose` with this run's files, as an operator would type it."""

    argv: list[str]
    ports: dict[str, dict[str, int]]
    dotenv: dict[str, str]
    timings: dict[str, float] = field(default_factory=dict)

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
            *services,
            timeout=UP_TIMEOUT_S + 60,
        )
        return time.monotonic() - started


def read_dotenv(path: Path) -> dict[str, str]:
    pairs = (line.partition("=") for line in path.read_text().splitlines())
    return {name: value for name, sep, value in pairs if sep and not name.startswith("#")}
