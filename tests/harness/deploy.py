"""What the deployment files say, read the way Docker would read them, and the broker's
least-privilege rules applied to a throwaway vhost with throwaway users."""

import importlib.util
import secrets
import shlex
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

from harness.processes import REPO

COMPOSE_FILE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / ".env.example"
BROKER_USERS = REPO / "deploy" / "rabbitmq" / "broker_users.py"
DOCKERFILES = {"a": REPO / "system_a" / "Dockerfile", "b": REPO / "system_b" / "Dockerfile"}


def compose_file() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return document


def broker_users() -> ModuleType:
    """deploy/rabbitmq/broker_users.py, the one source of the permission rules."""
    if (module := sys.modules.get("broker_users")) is not None:
        return module
    spec = importlib.util.spec_from_file_location("broker_users", BROKER_USERS)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["broker_users"] = module
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class ThrowawayBroker:
    rules: Any  # broker_users.BrokerRules, loaded from a file rather than imported
    passwords: dict[str, str]
    prefix: str

    def user(self, name: str) -> tuple[str, str]:
        """(user name on the broker, password) for a user of permissions.json."""
        full = self.prefix + name
        return full, self.passwords[full]

    def url(self, name: str, *, host: str = "127.0.0.1", port: int = 5672) -> str:
        user, password = self.user(name)
        return f"amqp://{user}:{password}@{host}:{port}/{self.rules.vhost}"


@contextmanager
def throwaway_broker_users() -> Iterator[ThrowawayBroker]:
    """The permissions of deploy/rabbitmq/permissions.json, applied with the same code
    `make broker-users` runs, to users and a vhost that exist only for the duration."""
    module = broker_users()
    tag = uuid.uuid4().hex[:12]
    prefix = f"crosslink-test-{tag}-"
    rules = module.rules_load(prefix=prefix, vhost=f"crosslink-test-{tag}")
    passwords = {user.name: secrets.token_hex(16) for user in rules.users}
    try:
        module.rules_apply(rules, passwords)
        yield ThrowawayBroker(rules=rules, passwords=passwords, prefix=prefix)
    finally:
        module.rules_remove(rules)


# --- Dockerfiles -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str


def dockerfile_instructions(path: Path) -> list[Instruction]:
    """Instructions with continuation lines joined and comments dropped."""
    instructions: list[Instruction] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        keyword, _, arguments = line.partition(" ")
        instructions.append(Instruction(keyword.upper(), arguments.strip()))
    return instructions


def exec_form(arguments: str) -> list[str]:
    """The argv of an exec-form (JSON array) CMD, or of a shell-form one split like a shell."""
    if arguments.startswith("["):
        argv: list[str] = yaml.safe_load(arguments)
        return argv
    return shlex.split(arguments)


def dockerfile_cmd(path: Path) -> list[str]:
    cmds = [i for i in dockerfile_instructions(path) if i.keyword == "CMD"]
    assert cmds, f"{path} has no CMD"
    return exec_form(cmds[-1].arguments)
