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


def test_an_s3_storage_location_without_a_bucket_is_refused_by_name() -> None:
    result = settings_load({"DJANGO_DEBUG": "true", "CROSSLINK_STORAGE_ROOT": "s3:///uploads"})

    assert result.returncode != 0
    assert "CROSSLINK_STORAGE_ROOT must name a bucket" in result.stderr


def test_the_storage_root_is_a_resolved_directory_or_an_s3_location_as_given(
    tmp_path: Path,
) -> None:
    show = "from django.conf import settings; print(repr(settings.STORAGE_ROOT))"
    shown = {}
    for location in (str(tmp_path / "a" / ".." / "b"), "s3://bucket/crosslink"):
        result = subprocess.run(
            [sys.executable, "-c", f"import django; django.setup(); {show}"],
            cwd=SYSTEM_A,
            env={
                **os.environ,
                "DJANGO_SETTINGS_MODULE": "config.settings",
                "DJANGO_DEBUG": "true",
                "CROSSLINK_STORAGE_ROOT": location,
            },
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        shown[location] = result.stdout.strip()

    assert list(shown.values()) == [repr(tmp_path / "b"), "'s3://bucket/crosslink'"]
