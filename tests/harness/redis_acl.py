"""The result backend's ACL rules (deploy/redis/), applied to throwaway users on the local
Redis with the same code `make broker-users` runs, and always removed again."""

import importlib.util
import secrets
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from harness.processes import REPO

REDIS_USERS = REPO / "deploy" / "redis" / "redis_users.py"
LOCAL_REDIS = "redis://127.0.0.1:6379/0"


def redis_users() -> ModuleType:
    """deploy/redis/redis_users.py, the one source of the ACL rules."""
    if (module := sys.modules.get("redis_users")) is not None:
        return module
    spec = importlib.util.spec_from_file_location("redis_users", REDIS_USERS)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["redis_users"] = module
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class ThrowawayRedisUsers:
    rules: Any  # redis_users.RedisRules, loaded from a file rather than imported
    passwords: dict[str, str]
    prefix: str

    def user(self, name: str) -> tuple[str, str]:
        full = self.prefix + name
        return full, self.passwords[full]

    def url(self, name: str, *, host: str = "127.0.0.1", port: int = 6379) -> str:
        user, password = self.user(name)
        return f"redis://{user}:{password}@{host}:{port}/0"


@contextmanager
def throwaway_redis_users(admin_url: str = LOCAL_REDIS) -> Iterator[ThrowawayRedisUsers]:
    module = redis_users()
    prefix = f"crosslink-test-{uuid.uuid4().hex[:12]}-"
    rules = module.rules_load(prefix=prefix)
    passwords = {user.name: secrets.token_hex(16) for user in rules.users}
    try:
        module.rules_apply(rules, passwords, url=admin_url)
        yield ThrowawayRedisUsers(rules=rules, passwords=passwords, prefix=prefix)
    finally:
        module.rules_remove(rules, url=admin_url)
