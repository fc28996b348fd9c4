"""The result backend's ACL users, from users.json beside this file.

Two ways to apply the same rules, standard library only (it runs in a bare Python image too):

    python redis_users.py aclfile OUT   write a Redis ACL file (compose's Redis loads it at
                                        boot, --aclfile), with the default user cut down to PING
    python redis_users.py apply         create or update the users on a running Redis
                                        (REDIS_ADMIN_URL, default the local one); idempotent
    python redis_users.py remove        delete them again

Every password is read from the variable the user's ``password_env`` names; none has a default.
The ACL file carries SHA-256 hashes, never the passwords: https://redis.io/docs/latest/operate/oss_and_stack/management/security/acl/
``apply`` never changes the default user of a Redis it did not configure.
"""

import argparse
import hashlib
import json
import os
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

RULES_PATH = Path(__file__).with_name("users.json")
TIMEOUT_S = 10


@dataclass(frozen=True)
class RedisUser:
    name: str
    password_env: str
    rules: str


@dataclass(frozen=True)
class RedisRules:
    default: str
    users: tuple[RedisUser, ...]


def rules_load(*, prefix: str = "") -> RedisRules:
    """The rules; ``prefix`` is put before every user name (tests use throwaway users)."""
    document = json.loads(RULES_PATH.read_text())
    users = tuple(
        RedisUser(name=prefix + u["name"], password_env=u["password_env"], rules=u["rules"])
        for u in document["users"]
    )
    return RedisRules(default=document["default"], users=users)


def passwords_from_env(rules: RedisRules) -> dict[str, str]:
    missing = [u.password_env for u in rules.users if not os.environ.get(u.password_env)]
    if missing:
        sys.exit(f"Set {', '.join(missing)} (in .env or the environment).")
    return {u.name: os.environ[u.password_env] for u in rules.users}


def acl_lines(rules: RedisRules, passwords: dict[str, str]) -> list[str]:
    lines = [f"user default {rules.default}"]
    for user in rules.users:
        digest = hashlib.sha256(passwords[user.name].encode()).hexdigest()
        lines.append(f"user {user.name} reset on #{digest} {user.rules}")
    return lines


class Redis:
    """Just enough of the Redis protocol (RESP2) to send ACL commands."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.sock = socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or 6379), timeout=TIMEOUT_S
        )
        self.reader = self.sock.makefile("rb")
        if parts.password:
            self.command("AUTH", unquote(parts.username or "default"), unquote(parts.password))

    def command(self, *args: str) -> object:
        encoded = [arg.encode() for arg in args]
        payload = b"*%d\r\n" % len(encoded) + b"".join(
            b"$%d\r\n%s\r\n" % (len(arg), arg) for arg in encoded
        )
        self.sock.sendall(payload)
        return self._reply()

    def _reply(self) -> object:
        line = self.reader.readline().rstrip(b"\r\n")
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            if int(rest) < 0:
                return None
            data = self.reader.read(int(rest) + 2)[:-2]
            return data.decode()
        if kind == b"*":
            return [self._reply() for _ in range(max(0, int(rest)))]
        raise RuntimeError(f"Unexpected reply from Redis: {line!r}")

    def close(self) -> None:
        self.reader.close()
        self.sock.close()


def rules_apply(rules: RedisRules, passwords: dict[str, str], *, url: str) -> None:
    redis = Redis(url)
    try:
        for user in rules.users:
            redis.command(
                "ACL",
                "SETUSER",
                user.name,
                "reset",
                "on",
                f">{passwords[user.name]}",
                *user.rules.split(),
            )
    finally:
        redis.close()


def rules_remove(rules: RedisRules, *, url: str) -> None:
    redis = Redis(url)
    try:
        redis.command("ACL", "DELUSER", *(user.name for user in rules.users))
    finally:
        redis.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="action", required=True)
    aclfile = sub.add_parser("aclfile", help="write an ACL file for compose's Redis")
    aclfile.add_argument("out", type=Path)
    sub.add_parser("apply", help="create or update the users on a running Redis")
    sub.add_parser("remove", help="delete the users from a running Redis")
    args = parser.parse_args()
    rules = rules_load()
    url = os.environ.get("REDIS_ADMIN_URL", "redis://127.0.0.1:6379/0")
    if args.action == "aclfile":
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("\n".join(acl_lines(rules, passwords_from_env(rules))) + "\n")
        # Hashes only; Redis, running as its own user, must be able to read it.
        args.out.chmod(0o644)
        print(f"wrote {len(rules.users)} users to {args.out}")
    elif args.action == "apply":
        rules_apply(rules, passwords_from_env(rules), url=url)
        print(f"applied {len(rules.users)} users to {urlsplit(url).hostname}")
    else:
        rules_remove(rules, url=url)
        print(f"removed {len(rules.users)} users from {urlsplit(url).hostname}")


if __name__ == "__main__":
    main()
