import json
import subprocess
import sys

import pytest

from shared_schema.__main__ import main


def test_the_contract_prints_as_json_schema_with_names_and_codes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main([]) == 0

    document = json.loads(capsys.readouterr().out)

    assert document["task"] == "remote.processing"
    assert set(document["schemas"]) == {"request", "result", "progress"}
    assert "storage_key" in document["schemas"]["request"]["properties"]
    assert "inconsistent_rows" in document["error_codes"]


def test_one_model_can_be_printed_alone(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["result"]) == 0

    assert json.loads(capsys.readouterr().out)["title"] == "ProcessingResult"


def test_importing_the_contract_loads_neither_django_nor_celery() -> None:
    probe = (
        "import sys, shared_schema, shared_schema.__main__; "
        "print(sorted(m for m in ('django', 'celery', 'kombu') if m in sys.modules))"
    )

    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout

    assert out.strip() == "[]"
