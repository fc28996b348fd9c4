import os
import subprocess
import sys
from pathlib import Path

import pytest

SYSTEM_A = Path(__file__).resolve().parents[1]


def settings_load(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=SYSTEM_A,
        env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_without_debug_the_secret_key_has_no_default() -> None:
    result = settings_load({})

    assert result.returncode != 0
    assert "Set the DJANGO_SECRET_KEY environment variable" in result.stderr


def test_with_a_secret_key_the_settings_load() -> None:
    assert settings_load({"DJANGO_SECRET_KEY": "x" * 50}).returncode == 0


def test_a_malformed_boolean_is_refused_by_name() -> None:
    result = settings_load({"DJANGO_DEBUG": "maybe"})

    assert "DJANGO_DEBUG must be true or false" in result.stderr


def test_an_unknown_stale_policy_is_refused_by_name() -> None:
    result = settings_load({"DJANGO_DEBUG": "true", "CROSSLINK_STALE_POLICY": "ignore"})

    assert result.returncode != 0
    assert "CROSSLINK_STALE_POLICY must be one of fail, retry" in result.stderr


def test_an_empty_variable_means_its_default_in_every_reader(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from config.env import env_bool, env_choice, env_int, env_list, env_str

    monkeypatch.setenv("CROSSLINK_EMPTY", "")

    assert env_bool("CROSSLINK_EMPTY", default=True) is True
    assert env_list("CROSSLINK_EMPTY", default=["localhost"]) == ["localhost"]
    assert env_int("CROSSLINK_EMPTY", default=3) == 3
    assert env_str("CROSSLINK_EMPTY", "x") == "x"
    assert env_choice("CROSSLINK_EMPTY", choices=("fail", "retry"), default="retry") == "retry"
