"""Each system controls only itself: with least-privilege users on a throwaway vhost, B's
user cannot shut down, cancel the consumers of, rate-limit, revoke on or inspect A's workers,
nor A's user B's; a command posted straight into a worker's control queue through the default
exchange is ignored; A's broker password never leaves in `inspect conf`. Real RabbitMQ, real
workers of both systems."""

import json
import socket
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from amqp.exceptions import AccessRefused
from celery import Celery
from kombu import Connection

from config.testing import celery_broker
from harness.deploy import ThrowawayBroker, throwaway_broker_users
from harness.processes import ManagedProcess, celery_worker
from harness.waiting import wait_for
from shared_schema.names import QUEUE_SYSTEM_A, QUEUE_SYSTEM_B

pytestmark = pytest.mark.integration

REPLY_TIMEOUT_S = 5


class Stack:
    def __init__(self, broker: ThrowawayBroker, a: ManagedProcess, b: ManagedProcess) -> None:
        self.broker, self.a, self.b = broker, a, b

    @staticmethod
    def node(process: ManagedProcess) -> str:
        return f"{process.name.removeprefix('worker ')}@{socket.gethostname()}"


@pytest.fixture(scope="module")
def stack(wire: dict[str, str], run_dir: Path) -> Iterator[Stack]:
    logs = run_dir / "logs" / f"control-{uuid.uuid4().hex[:8]}"
    logs.mkdir(parents=True)
    with throwaway_broker_users() as broker:
        a = celery_worker(
            system="a",
            env={**wire, "CELERY_BROKER_URL": broker.url("system_a")},
            log_dir=logs,
            queues=QUEUE_SYSTEM_A,
        )
        b = celery_worker(
            system="b",
            env={**wire, "CELERY_BROKER_URL": broker.url("system_b")},
            log_dir=logs,
            queues=QUEUE_SYSTEM_B,
        )
        try:
            a.start()
            b.start()
            yield Stack(broker, a, b)
        finally:
            b.stop()
            a.stop()


def controller(url: str, *, system: str, monkeypatch: pytest.MonkeyPatch) -> Celery:
    """A bare Celery client on ``url`` aimed at ``system``'s control exchange, with publisher
    confirms as every system has them (a refused publish raises instead of the broker closing
    the channel after the client moved on). Celery prefers the environment's CELERY_BROKER_URL
    to its configuration, and publishes commands through the app's own producer pool."""
    monkeypatch.setenv("CELERY_BROKER_URL", url)
    app = Celery(f"probe-{uuid.uuid4().hex[:6]}", broker=url, set_as_current=False)
    app.conf.control_exchange = system
    app.conf.broker_transport_options = {"confirm_publish": True}
    return app


def connect(url: str) -> Connection:
    return Connection(url, transport_options={"confirm_publish": True})


Command = Callable[[Celery, Connection, str], object]
COMMANDS: dict[str, Command] = {
    "shutdown": lambda app, conn, node: app.control.shutdown(destination=[node], connection=conn),
    "cancel_consumer": lambda app, conn, node: app.control.cancel_consumer(
        "system_x", destination=[node], connection=conn
    ),
    "rate_limit": lambda app, conn, node: app.control.rate_limit(
        "remote.processing", "1/h", destination=[node], connection=conn
    ),
    "revoke": lambda app, conn, node: app.control.revoke(
        str(uuid.uuid4()), terminate=True, connection=conn
    ),
    "inspect ping": lambda app, conn, node: app.control.inspect(
        [node], timeout=REPLY_TIMEOUT_S, connection=conn
    ).ping(),
    "inspect conf": lambda app, conn, node: app.control.inspect(
        [node], timeout=REPLY_TIMEOUT_S, connection=conn
    ).conf(),
}


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize(
    ("sender", "target"), [("system_b", "system_a"), ("system_a", "system_b")], ids=["B->A", "A->B"]
)
def test_one_systems_user_is_refused_every_command_to_the_others_workers(
    stack: Stack, sender: str, target: str, command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    node = stack.node(stack.a if target == "system_a" else stack.b)
    url = stack.broker.url(sender)
    app = controller(url, system=target, monkeypatch=monkeypatch)
    with connect(url) as connection, pytest.raises(AccessRefused):
        COMMANDS[command](app, connection, node)
    assert stack.a.alive(), stack.a.tail()
    assert stack.b.alive(), stack.b.tail()


def test_nobody_may_use_celerys_shared_control_exchange_any_more(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = stack.broker.url("system_b")
    app = controller(url, system="celery", monkeypatch=monkeypatch)
    with connect(url) as connection, pytest.raises(AccessRefused):
        app.control.shutdown(connection=connection)


def test_a_command_posted_into_as_control_queue_through_the_default_exchange_is_ignored(
    stack: Stack,
) -> None:
    node = stack.node(stack.a)
    body = {"method": "shutdown", "arguments": {}, "destination": None, "pattern": None}
    with Connection(stack.broker.url("system_b")) as connection:
        connection.default_channel.confirm_select()
        connection.Producer(serializer="json").publish(
            body, exchange="", routing_key=f"{node}.system_a.pidbox", mandatory=True
        )
    wait_for(
        lambda: "Ignoring a remote-control command 'shutdown'" in stack.a.log(),
        timeout=30,
        what="A's worker to ignore the forged command",
        describe=stack.a.tail,
    )
    assert stack.a.alive()


def test_a_system_still_controls_its_own_workers_and_its_broker_password_stays_masked(
    stack: Stack,
) -> None:
    from config.celery import app

    node = stack.node(stack.a)
    _, password = stack.broker.user("system_a")
    with celery_broker(stack.broker.url("system_a")):
        inspect = app.control.inspect([node], timeout=REPLY_TIMEOUT_S)
        assert inspect.ping() == {node: {"ok": "pong"}}
        conf = inspect.conf()
    assert conf is not None
    answer = json.dumps(conf)
    assert "CELERY_BROKER_URL" in answer
    assert password not in answer
    assert "********" in conf[node]["CELERY_BROKER_URL"]
