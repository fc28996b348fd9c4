"""The wire rules hold on both sides: each system's Celery configuration, read from its own
process and environment, agrees on serializers, durability and confirms."""

import os
import tempfile

import pytest

from harness.processes import A_BIN, B_BIN, SYSTEM_A, run_json

WIRE_KEYS = [
    "accept_content",
    "result_accept_content",
    "task_serializer",
    "result_serializer",
    "task_default_delivery_mode",
    "broker_transport_options",
    "result_backend_always_retry",
    "result_backend_max_retries",
    "task_queues",
]

# Queues are kombu objects: compare what the broker is told when each is declared.
DUMP = (
    "import json, sys; from {module} import app; "
    "describe = lambda q: {{'name': q.name, 'exchange': q.exchange.name, "
    "'exchange_type': q.exchange.type, 'routing_key': q.routing_key, 'durable': q.durable, "
    "'arguments': q.queue_arguments}}; "
    "print(json.dumps({{k: app.conf[k] for k in {keys!r}}}, default=describe))"
)


def conf_of(system: str) -> dict[str, object]:
    if system == "A":
        python, module, cwd = A_BIN / "python", "config.celery", SYSTEM_A
    else:
        python, module, cwd = B_BIN / "python", "system_b.celery_app", tempfile.gettempdir()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "DJANGO_DEBUG": "true"}
    conf: dict[str, object] = run_json(
        [str(python), "-c", DUMP.format(module=module, keys=WIRE_KEYS)], cwd=cwd, env=env
    )
    return conf


@pytest.fixture(scope="module")
def confs() -> dict[str, dict[str, object]]:
    return {"A": conf_of("A"), "B": conf_of("B")}


def test_both_systems_accept_and_send_json_only(confs: dict[str, dict[str, object]]) -> None:
    for conf in confs.values():
        assert conf["accept_content"] == conf["result_accept_content"] == ["json"]
        assert conf["task_serializer"] == conf["result_serializer"] == "json"


def test_both_systems_agree_on_every_wire_setting_but_their_own_queue(
    confs: dict[str, dict[str, object]],
) -> None:
    def shared(conf: dict[str, object]) -> dict[str, object]:
        return {key: value for key, value in conf.items() if key != "task_queues"}

    assert shared(confs["A"]) == shared(confs["B"])


def test_both_systems_publish_persistent_messages_with_confirms(
    confs: dict[str, dict[str, object]],
) -> None:
    for conf in confs.values():
        assert conf["task_default_delivery_mode"] == "persistent"
        assert conf["broker_transport_options"] == {"confirm_publish": True}


def test_each_system_declares_only_its_own_queue_as_a_quorum_queue_with_a_delivery_limit(
    confs: dict[str, dict[str, object]],
) -> None:
    owned = {"A": "system_a", "B": "system_b"}
    for system, conf in confs.items():
        queues = conf["task_queues"]
        assert isinstance(queues, list)
        assert [q["name"].split(".")[0] for q in queues] == [owned[system]]
        for queue in queues:
            assert queue["durable"] is True
            assert queue["arguments"]["x-queue-type"] == "quorum"
            assert queue["arguments"]["x-delivery-limit"] > 0
            assert queue["arguments"]["x-dead-letter-exchange"] == f"{owned[system]}.dead-letter"
            # Native delayed delivery (retry countdowns on quorum queues) needs a topic exchange.
            assert queue["exchange_type"] == "topic"
