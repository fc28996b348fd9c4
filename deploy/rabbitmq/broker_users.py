"""The broker's users and permissions, from permissions.json beside this file.

Two ways to apply the same rules, standard library only (it runs in a bare Python image too):

    python broker_users.py definitions OUT   write a RabbitMQ definitions file (compose loads it
                                             at boot); passwords come from the environment
    python broker_users.py apply             create or update the vhost and users on the local
                                             node with rabbitmqctl; idempotent (make broker-users)
    python broker_users.py remove            delete those users (and, with --vhost, that vhost)

Options, before the command: ``--rules FILE`` applies another rules file of the same shape
(another system's users: docs/adding-a-system.md); its ``@name`` lists come from this
directory's permissions.json unless it defines its own. ``--vhost NAME`` and ``--prefix P``
apply the rules to another vhost and to users named ``P<name>`` (tests use both).

Every password is read from the variable the user's ``password_env`` names; none has a default.
Definitions carry salted SHA-256 hashes, never the passwords:
https://www.rabbitmq.com/docs/passwords#computing-password-hash
"""

import argparse
import base64
import hashlib
import json
import os
import secrets
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RULES_PATH = Path(__file__).with_name("permissions.json")
RABBITMQCTL_TIMEOUT_S = 60


@dataclass(frozen=True, kw_only=True)
class BrokerUser:
    name: str
    password_env: str
    tags: tuple[str, ...]
    configure: str
    write: str
    read: str


@dataclass(frozen=True, kw_only=True)
class BrokerRules:
    vhost: str
    users: tuple[BrokerUser, ...]

    def user(self, name: str) -> BrokerUser:
        return next(u for u in self.users if u.name == name)


def permission_regex(fragments: Sequence[str], shared: Mapping[str, Sequence[str]]) -> str:
    """``^(a|b|...)$`` from fragments; ``@name`` stands for the shared list ``name`` (for
    example ``@celery_plumbing``) of the rules file."""
    expanded: list[str] = []
    for fragment in fragments:
        expanded.extend(shared[fragment[1:]] if fragment.startswith("@") else [fragment])
    return "^(" + "|".join(expanded) + ")$"


SHARED_LISTS = ("celery_plumbing", "delayed_delivery")


def rules_load(
    path: Path = RULES_PATH, *, prefix: str = "", vhost: str | None = None
) -> BrokerRules:
    """The rules; ``prefix`` renames every user and ``vhost`` replaces the vhost (tests use both
    to apply the very same permissions to throwaway users on a throwaway vhost). A rules file
    other than permissions.json takes the shared ``@name`` lists, and the vhost, from it unless
    it sets its own."""
    raw: dict[str, Any] = json.loads(path.read_text())
    base: dict[str, Any] = raw if path == RULES_PATH else json.loads(RULES_PATH.read_text())
    shared = {name: raw.get(name, base[name]) for name in SHARED_LISTS}
    users = tuple(
        BrokerUser(
            name=prefix + name,
            password_env=spec["password_env"],
            tags=tuple(spec["tags"]),
            configure=permission_regex(spec["configure"], shared),
            write=permission_regex(spec["write"], shared),
            read=permission_regex(spec["read"], shared),
        )
        for name, spec in raw["users"].items()
    )
    return BrokerRules(vhost=vhost or raw.get("vhost", base["vhost"]), users=users)


def passwords_from_env(rules: BrokerRules, env: Mapping[str, str] = os.environ) -> dict[str, str]:
    missing = [u.password_env for u in rules.users if not env.get(u.password_env)]
    if missing:
        raise SystemExit(f"Set {', '.join(missing)} (see .env.example); no password has a default.")
    return {u.name: env[u.password_env] for u in rules.users}


def password_hash(password: str, *, salt: bytes | None = None) -> str:
    """RabbitMQ's rabbit_password_hashing_sha256: base64(salt + sha256(salt + password))."""
    salt = salt if salt is not None else secrets.token_bytes(4)
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


def definitions(rules: BrokerRules, passwords: Mapping[str, str]) -> dict[str, Any]:
    return {
        "vhosts": [{"name": rules.vhost}],
        "users": [
            {
                "name": u.name,
                "password_hash": password_hash(passwords[u.name]),
                "hashing_algorithm": "rabbit_password_hashing_sha256",
                "tags": ",".join(u.tags),
            }
            for u in rules.users
        ],
        "permissions": [
            {
                "user": u.name,
                "vhost": rules.vhost,
                "configure": u.configure,
                "write": u.write,
                "read": u.read,
            }
            for u in rules.users
        ],
    }


def rabbitmqctl(*args: str) -> str:
    return subprocess.run(
        ["rabbitmqctl", "--quiet", *args],
        check=True,
        capture_output=True,
        text=True,
        timeout=RABBITMQCTL_TIMEOUT_S,
    ).stdout


def _names(listing: str) -> set[str]:
    return {line.split("\t")[0] for line in listing.splitlines() if line.strip()}


def rules_apply(rules: BrokerRules, passwords: Mapping[str, str]) -> None:
    """Create or update the vhost, users and permissions with rabbitmqctl. Touches nothing
    else: other vhosts and users (guest included) stay as they are."""
    if rules.vhost not in _names(rabbitmqctl("list_vhosts", "name")):
        rabbitmqctl("add_vhost", rules.vhost)
    existing = _names(rabbitmqctl("list_users"))
    for user in rules.users:
        if user.name in existing:
            rabbitmqctl("change_password", user.name, passwords[user.name])
        else:
            rabbitmqctl("add_user", user.name, passwords[user.name])
        rabbitmqctl("set_user_tags", user.name, *user.tags)
        rabbitmqctl(
            "set_permissions", "-p", rules.vhost, user.name, user.configure, user.write, user.read
        )


def rules_remove(rules: BrokerRules, *, vhost_too: bool = True) -> None:
    """Delete the users and, unless ``vhost_too`` is false, the vhost (with every queue in it).
    For throwaway rules, or a system taken off the broker."""
    existing = _names(rabbitmqctl("list_users"))
    for user in rules.users:
        if user.name in existing:
            rabbitmqctl("delete_user", user.name)
    if vhost_too and rules.vhost in _names(rabbitmqctl("list_vhosts", "name")):
        rabbitmqctl("delete_vhost", rules.vhost)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=Path, default=RULES_PATH, help="the rules file")
    parser.add_argument("--vhost", help="apply to this vhost instead of the rules' own")
    parser.add_argument("--prefix", default="", help="prefix every user's name with this")
    commands = parser.add_subparsers(dest="command", required=True)
    write = commands.add_parser("definitions", help="write a definitions file for RabbitMQ")
    write.add_argument("out", type=Path)
    commands.add_parser("apply", help="apply the rules to the local node with rabbitmqctl")
    remove = commands.add_parser("remove", help="delete the rules' users from the local node")
    remove.add_argument(
        "--with-vhost", action="store_true", help="delete the vhost too, with every queue in it"
    )
    args = parser.parse_args(argv)

    rules = rules_load(args.rules, prefix=args.prefix, vhost=args.vhost)
    if args.command == "remove":
        rules_remove(rules, vhost_too=args.with_vhost)
        print(f"vhost {rules.vhost}: users {[u.name for u in rules.users]} removed")
        return
    passwords = passwords_from_env(rules)
    if args.command == "definitions":
        args.out.parent.mkdir(parents=True, exist_ok=True)
        tmp = args.out.with_suffix(".tmp")
        tmp.write_text(json.dumps(definitions(rules, passwords), indent=2))
        # RabbitMQ runs as its own user in its container; the file holds hashes, not passwords.
        tmp.chmod(0o644)
        tmp.replace(args.out)
        print(f"wrote {args.out}: vhost {rules.vhost}, users {[u.name for u in rules.users]}")
    else:
        rules_apply(rules, passwords)
        print(f"vhost {rules.vhost}: users {[u.name for u in rules.users]} have their permissions")


if __name__ == "__main__":
    main(sys.argv[1:])
