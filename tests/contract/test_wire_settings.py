"""The wire rules hold on both sides: each system's Celery configuration, read from its own
process and environment, agrees on serializers, durability and confirms."""

import json
import os
import subprocess
import tempfile

import pytest

from harness.processes import A_BIN, B_BIN, SYSTEM_A

WIRE_KEYS = [
    "accept_content",
    "result_accept_content",
    "task_serializer",
    "result_serializer",
    "task_default_delivery_mode",
    "broker_transport_options",
]

DUMP = (
    "import json, sys; from {module} import app; "
    "print(json.dumps({{k: app.conf[k] for k in {keys!r}}}))"
)


def conf_of(system: str) -> dict[str, object]:
    if system == "A":
        python, module, cwd = A_BIN / "python", "config.celery", SYSTEM_A
    else:
        python, module, cwd = B_BIN / "python", "system_b.celery_app", tempfile.gettempdir()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "DJANGO_DEBUG": "true"}
    out = subprocess.run(
        [str(python), "-c", DUMP.format(module=module, keys=WIRE_KEYS)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    conf: dict[str, object] = json.loads(out)
    return conf


@pytest.fixture(scope="module")
def confs() -> dict[str, dict[str, object]]:
    return {"A": conf_of("A"), "B": conf_of("B")}


def test_both_systems_accept_and_send_json_only(confs: dict[str, dict[str, object]]) -> None:
    for conf in confs.values():
        assert conf["accept_content"] == conf["result_accept_content"] == ["json"]
        assert conf["task_serializer"] == conf["result_serializer"] == "json"


def test_both_systems_agree_on_every_wire_setting(confs: dict[str, dict[str, object]]) -> None:
    assert confs["A"] == confs["B"]


def test_both_systems_publish_persistent_messages_with_confirms(
    confs: dict[str, dict[str, object]],
) -> None:
    for conf in confs.values():
        assert conf["task_default_delivery_mode"] == "persistent"
        assert conf["broker_transport_options"] == {"confirm_publish": True}
