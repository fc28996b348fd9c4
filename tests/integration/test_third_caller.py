"""A third caller, System C (tests/system_c), added the way docs/adding-a-system.md says:
its own package and environment (only shared_schema and its wire layer), its own broker user
from its own rules file, its own queue. With least-privilege users on a throwaway vhost, it
sends B a good file and a broken one and hears back the success payload and the contract's
exception, while A keeps working beside it, unchanged."""

import json
import os
import secrets
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from config.testing import celery_broker
from files.models import File
from harness.deploy import BROKER_USERS, ThrowawayBroker, throwaway_broker_users
from harness.files import finished, upload
from harness.processes import C_BIN, SYSTEM_C, celery_worker
from harness.waiting import wait_for
from shared_schema.names import QUEUE_SYSTEM_A, QUEUE_SYSTEM_B

pytestmark = pytest.mark.integration

C_RULES = SYSTEM_C / "permissions.json"
QUEUE_SYSTEM_C = "system_c.callbacks"
GOOD_CSV = b"id,name\n1,ada\n2,grace\n"
BROKEN_CSV = b"id,name\n1,ada\n2\n"
HEAR_TIMEOUT_S = 60


def broker_users_cli(*args: str, env: dict[str, str] | None = None) -> None:
    """deploy/rabbitmq/broker_users.py, run as an operator runs it."""
    result = subprocess.run(
        [sys.executable, str(BROKER_USERS), *args],
        env={"PATH": os.environ["PATH"], **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


@pytest.fixture
def broker() -> Iterator[tuple[ThrowawayBroker, str]]:
    """A's, B's, Flower's and the admin's users from permissions.json, and C's from its own
    rules file with the documented command; yields the broker and C's broker URL."""
    with throwaway_broker_users() as broker:
        where = ["--rules", str(C_RULES), "--vhost", broker.rules.vhost, "--prefix", broker.prefix]
        password = secrets.token_hex(16)
        broker_users_cli(*where, "apply", env={"RABBITMQ_SYSTEM_C_PASSWORD": password})
        try:
            url = f"amqp://{broker.prefix}system_c:{password}@127.0.0.1:5672/{broker.rules.vhost}"
            yield broker, url
        finally:
            broker_users_cli(*where, "remove")


def store(root: Path, key: str, content: bytes) -> None:
    """As every writer to the shared storage must: atomically, never over a stored file."""
    path = root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(content)
    os.link(tmp, path)  # fails if the key is taken
    tmp.unlink()


def c_sends(env: dict[str, str], cwd: Path, ref: str, key: str) -> str:
    result = subprocess.run(
        [str(C_BIN / "python"), "-m", "system_c.send", ref, key],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_c_hears_its_success_and_the_contracts_error_while_a_works_unchanged(
    broker: tuple[ThrowawayBroker, str],
    wire: dict[str, str],
    storage_root: Path,
    run_dir: Path,
    transactional_db: None,
) -> None:
    users, c_url = broker
    scratch = run_dir / f"third-caller-{uuid.uuid4().hex[:8]}"
    inbox = scratch / "inbox"
    inbox.mkdir(parents=True)
    env_c = {**wire, "CELERY_BROKER_URL": c_url, "CROSSLINK_SYSTEM_C_INBOX": str(inbox)}
    workers = [
        celery_worker(
            system="b",
            env={**wire, "CELERY_BROKER_URL": users.url("system_b")},
            log_dir=scratch,
            queues=QUEUE_SYSTEM_B,
        ),
        celery_worker(
            system="a",
            env={**wire, "CELERY_BROKER_URL": users.url("system_a")},
            log_dir=scratch,
            queues=QUEUE_SYSTEM_A,
        ),
        celery_worker(system="c", env=env_c, log_dir=scratch, queues=QUEUE_SYSTEM_C),
    ]
    try:
        for worker in workers:
            worker.start()
        b, a, c = workers

        tag = uuid.uuid4().hex[:8]
        store(storage_root, f"system_c/{tag}-good.csv", GOOD_CSV)
        store(storage_root, f"system_c/{tag}-broken.csv", BROKEN_CSV)
        sent = {
            ref: c_sends(env_c, scratch, ref, f"system_c/{tag}-{ref}.csv")
            for ref in ("good", "broken")
        }
        with celery_broker(users.url("system_a")):
            file = finished(upload("beside-c.csv", GOOD_CSV), (a, b))

        def heard(ref: str) -> dict[str, object]:
            path = inbox / f"{ref}.json"
            document: dict[str, object] = wait_for(
                lambda: json.loads(path.read_text()) if path.exists() else None,
                timeout=HEAR_TIMEOUT_S,
                what=f"C to hear back about {ref}",
                describe=lambda: f"--- C ---\n{c.tail()}\n--- B ---\n{b.tail()}",
            )
            return document

        good, broken = heard("good"), heard("broken")
        assert good["outcome"] == "success", good
        assert isinstance(good["result"], dict)
        assert good["result"]["rows"] == 2
        assert good["result"]["storage_key"] == f"system_c/{tag}-good.csv"
        assert broken == {
            "outcome": "error",
            "failed_task_id": sent["broken"],
            "class": "shared_schema.errors.InconsistentRows",
            "code": "inconsistent_rows",
            "message": broken["message"],
        }
        assert "Line 3" in str(broken["message"])

        assert file.status == File.Status.SUCCESS, file.error_message
        assert "Could not publish" not in b.log()
        for worker in workers:
            assert worker.alive(), worker.tail()
    finally:
        for worker in reversed(workers):
            worker.stop()


@pytest.mark.parametrize("module", ["system_a", "config", "files", "system_b", "django"])
def test_c_runs_where_neither_a_nor_b_can_be_imported(module: str, tmp_path: Path) -> None:
    probe = f"import importlib.util as u, sys; sys.exit(0 if u.find_spec({module!r}) else 3)"
    result = subprocess.run(
        [str(C_BIN / "python"), "-c", probe], cwd=tmp_path, capture_output=True, timeout=60
    )
    assert result.returncode == 3, result.stderr
