"""The result backend is split per system: B writes results, A and Flower only read them, and
no system's user can touch anything else in Redis.

The attack: with one unauthenticated Redis shared by A, B and Flower, anyone on the network
could forge or wipe any result (a forged PROGRESS made A's pages fail). The users are the ones
of deploy/redis/users.json, applied to the local Redis under throwaway names (and removed
afterwards), and loaded from the ACL file compose's Redis boots with, in a private
redis-server."""

import subprocess
import uuid
from collections.abc import Iterator

import pytest
import redis
from celery import Celery
from redis.exceptions import NoPermissionError, ResponseError

from harness.ports import free_port
from harness.redis_acl import ThrowawayRedisUsers, redis_users, throwaway_redis_users
from harness.waiting import wait_for
from shared_schema.payloads import PROGRESS_STATE

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def users() -> Iterator[ThrowawayRedisUsers]:
    with throwaway_redis_users() as users:
        yield users


def backend_app(url: str) -> Celery:
    """A Celery app whose result backend is Redis as ``url``'s user, configured as A and B
    configure theirs (JSON only)."""
    app = Celery(set_as_current=False)
    app.conf.update(
        result_backend=url,
        result_serializer="json",
        result_accept_content=["json"],
        accept_content=["json"],
    )
    return app


def test_b_writes_results_and_progress_that_a_and_flower_read(
    users: ThrowawayRedisUsers,
) -> None:
    b = backend_app(users.url("system_b")).backend
    a = backend_app(users.url("system_a")).backend
    flower = backend_app(users.url("flower")).backend
    task_id = f"test-{uuid.uuid4()}"
    try:
        b.store_result(task_id, {"bytes_read": 1, "bytes_total": 2, "rows": 3}, PROGRESS_STATE)
        assert a.get_task_meta(task_id, cache=False)["status"] == PROGRESS_STATE
        b.store_result(task_id, {"rows": 3}, "SUCCESS")
        assert a.get_task_meta(task_id, cache=False)["result"] == {"rows": 3}
        assert flower.get_task_meta(task_id, cache=False)["status"] == "SUCCESS"
    finally:
        b.forget(task_id)


def test_a_waiting_on_a_result_hears_b_store_it_over_pub_sub(users: ThrowawayRedisUsers) -> None:
    a_app = backend_app(users.url("system_a"))
    b = backend_app(users.url("system_b")).backend
    task_id = f"test-{uuid.uuid4()}"
    try:
        # What send_task does on A: subscribe to the task's channel (RedisBackend.on_task_call).
        a_app.backend.result_consumer.consume_from(task_id)
        b.store_result(task_id, {"rows": 1}, "SUCCESS")
        assert a_app.AsyncResult(task_id).get(timeout=10) == {"rows": 1}
    finally:
        b.forget(task_id)
        a_app.backend.result_consumer.cancel_for(task_id)


@pytest.mark.parametrize("name", ["system_a", "flower"])
def test_a_and_flower_cannot_write_forge_or_delete_a_result(
    name: str, users: ThrowawayRedisUsers
) -> None:
    client = redis.Redis.from_url(users.url(name))
    key = f"celery-task-meta-test-{uuid.uuid4()}"
    try:
        for forge in (
            lambda: client.set(key, b'{"status": "PROGRESS", "result": "forged"}'),
            lambda: client.delete(key),
            lambda: client.publish(key, b"forged"),
        ):
            with pytest.raises(NoPermissionError):
                forge()
    finally:
        client.close()


@pytest.mark.parametrize("name", ["system_a", "system_b", "flower"])
def test_no_users_may_touch_other_keys_or_administer_redis(
    name: str, users: ThrowawayRedisUsers
) -> None:
    client = redis.Redis.from_url(users.url(name))
    try:
        for command in (
            lambda: client.get("some-other-key"),
            lambda: client.keys("*"),
            lambda: client.flushdb(),
            lambda: client.config_get("*"),
            lambda: client.acl_list(),
            lambda: client.execute_command("SHUTDOWN", "NOSAVE"),
        ):
            with pytest.raises(NoPermissionError):
                command()
    finally:
        client.close()


@pytest.fixture(scope="module")
def compose_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, dict[str, str]]]:
    """A private redis-server booted from the ACL file compose's Redis loads, as `redis_users.py
    aclfile` writes it; yields its port and the passwords."""
    run_dir = tmp_path_factory.mktemp("redis-acl")
    module = redis_users()
    rules = module.rules_load()
    passwords = {user.name: uuid.uuid4().hex for user in rules.users}
    acl = run_dir / "users.acl"
    acl.write_text("\n".join(module.acl_lines(rules, passwords)) + "\n")
    port = free_port()
    server = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--aclfile",
            str(acl),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(run_dir),
        ],
        stdout=(run_dir / "redis.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(lambda: _pings(port), timeout=20, what="the private redis-server to answer")
        yield port, passwords
    finally:
        server.terminate()
        server.wait(timeout=20)


def _pings(port: int) -> bool:
    try:
        return bool(redis.Redis(port=port, socket_timeout=1).ping())
    except (redis.ConnectionError, ResponseError):
        return False


def test_compose_redis_lets_the_unauthenticated_only_ping(
    compose_redis: tuple[int, dict[str, str]],
) -> None:
    port, passwords = compose_redis
    anonymous = redis.Redis(port=port)
    b = backend_app(f"redis://system_b:{passwords['system_b']}@127.0.0.1:{port}/0").backend
    a = backend_app(f"redis://system_a:{passwords['system_a']}@127.0.0.1:{port}/0").backend

    assert anonymous.ping()
    with pytest.raises(NoPermissionError):
        anonymous.get("celery-task-meta-x")
    with pytest.raises(NoPermissionError):
        anonymous.set("celery-task-meta-x", b"{}")
    b.store_result("t-compose", {"rows": 1}, "SUCCESS")
    assert a.get_task_meta("t-compose", cache=False)["result"] == {"rows": 1}
