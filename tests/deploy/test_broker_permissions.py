"""Least privilege on the broker: each system's user reads only its own queue. The rules are
deploy/rabbitmq/permissions.json, applied by the code `make broker-users` runs, to throwaway
users on a throwaway vhost. Real RabbitMQ, raw kombu clients, no Celery in between."""

import json
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from amqp.exceptions import AccessRefused, NotFound
from kombu import Connection, Exchange, Queue
from kombu.exceptions import OperationalError

from config.testing import celery_broker
from harness.deploy import (
    BROKER_USERS,
    ThrowawayBroker,
    broker_users,
    compose_file,
    throwaway_broker_users,
)
from shared_schema.names import PROCESS_TASK, QUEUE_SYSTEM_A, QUEUE_SYSTEM_B

pytestmark = pytest.mark.integration

CONNECT_TIMEOUT_S = 10


@pytest.fixture(scope="module")
def broker() -> Iterator[ThrowawayBroker]:
    with throwaway_broker_users() as broker:
        with connect(broker, "system_a") as a, connect(broker, "system_b") as b:
            # Each system's worker declares the queue it consumes, as Celery declares it.
            own_queue(QUEUE_SYSTEM_A)(a.default_channel).declare()
            own_queue(QUEUE_SYSTEM_B)(b.default_channel).declare()
        yield broker


def own_queue(name: str) -> Queue:
    return Queue(name, Exchange(name, "direct"), routing_key=name, durable=True)


def connect(broker: ThrowawayBroker, user: str) -> Connection:
    connection = Connection(broker.url(user), connect_timeout=CONNECT_TIMEOUT_S)
    connection.ensure_connection(max_retries=1)
    return connection


def consume_one(connection: Connection, queue: str) -> object:
    """basic.get on ``queue`` (needs read permission on it)."""
    return connection.default_channel.basic_get(queue, no_ack=True)


def test_system_bs_user_is_refused_when_it_reads_system_as_queue(broker: ThrowawayBroker) -> None:
    with connect(broker, "system_b") as b, pytest.raises(AccessRefused) as refused:
        consume_one(b, QUEUE_SYSTEM_A)
    assert f"access to queue '{QUEUE_SYSTEM_A}'" in str(refused.value)


def test_system_as_user_is_refused_when_it_reads_system_bs_queue(broker: ThrowawayBroker) -> None:
    with connect(broker, "system_a") as a, pytest.raises(AccessRefused):
        consume_one(a, QUEUE_SYSTEM_B)


@pytest.mark.parametrize("queue", [QUEUE_SYSTEM_A, QUEUE_SYSTEM_B])
def test_flowers_user_reads_no_work_queue(broker: ThrowawayBroker, queue: str) -> None:
    with connect(broker, "flower") as flower, pytest.raises(AccessRefused):
        consume_one(flower, queue)


def test_system_bs_user_cannot_declare_or_bind_system_as_queue(broker: ThrowawayBroker) -> None:
    """Why B never declares A's queue (system_b/celery_app.py): the bind needs read access to
    an exchange named like A's queue."""
    with connect(broker, "system_b") as b, pytest.raises(AccessRefused):
        own_queue(QUEUE_SYSTEM_A)(b.default_channel).declare()


def test_a_callback_b_publishes_to_system_as_queue_is_consumed_by_system_as_user(
    broker: ThrowawayBroker,
) -> None:
    body = {"callback": "from B", "marker": broker.prefix}
    with connect(broker, "system_b") as b:
        # Celery publishes a link through the default exchange, routing key = the queue name.
        producer = b.Producer(serializer="json")
        b.default_channel.confirm_select()
        producer.publish(
            body, exchange="", routing_key=QUEUE_SYSTEM_A, delivery_mode=2, mandatory=True
        )

    with connect(broker, "system_a") as a:
        message = a.SimpleQueue(own_queue(QUEUE_SYSTEM_A)).get(timeout=CONNECT_TIMEOUT_S)
        message.ack()
    assert message.payload == body


def test_the_users_passwords_are_checked(broker: ThrowawayBroker) -> None:
    user, _ = broker.user("system_b")
    wrong = f"amqp://{user}:not-the-password@127.0.0.1:5672/{broker.rules.vhost}"
    with pytest.raises((AccessRefused, OperationalError)):
        Connection(wrong, connect_timeout=CONNECT_TIMEOUT_S).ensure_connection(max_retries=1)


def test_definitions_for_compose_load_into_rabbitmq_and_their_hashes_authenticate() -> None:
    """The file compose's broker-definitions service writes (hashes, no passwords) is what
    RabbitMQ loads at boot; importing it here proves the hashes are RabbitMQ's own format."""
    module = broker_users()
    tag = f"crosslink-test-defs-{uuid.uuid4().hex[:12]}"
    rules = module.rules_load(prefix=f"{tag}-", vhost=tag)
    passwords = {user.name: f"pw-{index}-{tag}" for index, user in enumerate(rules.users)}
    document = module.definitions(rules, passwords)
    assert not any(p in json.dumps(document) for p in passwords.values())
    try:
        # rabbitmqctl reads the file as its own user: a readable file in the shared temp dir.
        with tempfile.NamedTemporaryFile("w", suffix=".json") as file:
            file.write(json.dumps(document))
            file.flush()
            Path(file.name).chmod(0o644)
            subprocess.run(
                ["rabbitmqctl", "--quiet", "import_definitions", file.name],
                check=True,
                capture_output=True,
                timeout=60,
            )
        for user in rules.users:
            url = f"amqp://{user.name}:{passwords[user.name]}@127.0.0.1:5672/{rules.vhost}"
            with Connection(url, connect_timeout=CONNECT_TIMEOUT_S) as connection:
                connection.ensure_connection(max_retries=1)
    finally:
        module.rules_remove(rules)


def test_the_broker_definitions_service_writes_hashes_as_compose_runs_it(tmp_path: Path) -> None:
    definition = compose_file()["services"]["broker-definitions"]
    assert "./deploy/rabbitmq:/deploy:ro" in definition["volumes"]
    argv = [
        arg.replace("/deploy/", f"{BROKER_USERS.parent}/").replace("/definitions/", f"{tmp_path}/")
        for arg in definition["command"]
    ]
    passwords = {name: f"secret-{index}" for index, name in enumerate(definition["environment"])}
    assert argv[0] == "python"
    result = subprocess.run(
        [sys.executable, *argv[1:]],
        env={"PATH": "/usr/bin:/bin", **passwords},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    written = (tmp_path / "definitions.json").read_text()
    document = json.loads(written)
    assert {u["name"] for u in document["users"]} == {"system_a", "system_b", "flower", "admin"}
    assert not any(p in written for p in passwords.values())

    missing = subprocess.run(
        [sys.executable, *argv[1:]],
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode != 0
    assert "RABBITMQ_SYSTEM_A_PASSWORD" in missing.stderr


def test_sending_to_bs_queue_while_it_does_not_exist_fails_loudly_then_works_once_it_does(
    broker: ThrowawayBroker,
) -> None:
    """A checks B's queue passively (no permission needed) instead of declaring it: a send to a
    queue that is not there raises, so dispatch keeps the file PENDING, rather than the broker
    dropping the message as unroutable."""
    from config.celery import app

    with connect(broker, "system_b") as b:
        b.default_channel.queue_delete(QUEUE_SYSTEM_B)  # as if B had never started here
    with celery_broker(broker.url("system_a")):
        with pytest.raises(NotFound):
            app.send_task(PROCESS_TASK, queue=QUEUE_SYSTEM_B, kwargs={"payload": {}})

        with connect(broker, "system_b") as b:
            own_queue(QUEUE_SYSTEM_B)(b.default_channel).declare()
        app.send_task(PROCESS_TASK, queue=QUEUE_SYSTEM_B, kwargs={"payload": {}})

    with connect(broker, "system_b") as b:
        waiting = b.default_channel.queue_declare(QUEUE_SYSTEM_B, passive=True).message_count
    assert waiting == 1
