"""``import shared_schema`` stays free of Celery: the contract is importable anywhere, and only
``shared_schema.wire`` (the ``celery`` extra) brings Celery and kombu."""

import json
import subprocess
import sys

CORE = [
    "shared_schema",
    "shared_schema.errors",
    "shared_schema.names",
    "shared_schema.payloads",
    "shared_schema.queues",
    "shared_schema.__main__",
]

PROBE = (
    "import importlib, json, sys; "
    "[importlib.import_module(m) for m in sys.argv[1:]]; "
    "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
    "('celery', 'kombu', 'amqp', 'redis', 'billiard'))))"
)


def loaded_frameworks(*modules: str) -> list[str]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, *modules],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    loaded: list[str] = json.loads(out)
    return loaded


def test_the_contract_and_its_core_modules_import_no_celery_or_kombu() -> None:
    assert loaded_frameworks(*CORE) == []


def test_the_probe_would_see_celery_if_the_wire_layer_were_imported() -> None:
    assert "celery" in loaded_frameworks("shared_schema.wire")
