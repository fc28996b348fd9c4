"""`manage.py check --deploy` is clean with compose's environment and a .env from `make env`:
HTTPS settings from the environment, on in production, and a Django key that passes Django's
own check.

Before: compose's environment failed the check (no HSTS, no SSL redirect, cookies not secure),
and `make env`'s 48-character key failed security.W009."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from harness.deploy import compose_file
from harness.processes import A_BIN, REPO, SYSTEM_A

HTTPS_WARNINGS = {"security.W004", "security.W008", "security.W012", "security.W016"}


def dotenv_from_make_env(tmp_path: Path) -> dict[str, str]:
    target = tmp_path / ".env"
    subprocess.run([sys.executable, str(REPO / "scripts" / "make_env.py"), str(target)], check=True)
    pairs = (
        line.split("=", 1)
        for line in target.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    )
    return dict(pairs)


def web_environment(dotenv: dict[str, str]) -> dict[str, str]:
    """The web service's environment as compose would give it: the image's ENV, then
    docker-compose.yml's, with ${VAR:?}, ${VAR:-default} and ${VAR} from .env."""

    def value(match: re.Match[str]) -> str:
        name, operator, default = match.group(1), match.group(2) or "", match.group(3) or ""
        if operator == ":-":
            return dotenv.get(name) or default
        assert dotenv.get(name), f"{name} is required and missing from .env"
        return dotenv[name]

    pattern = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:-|:\?|\?)?([^}]*)\}")
    web = compose_file()["services"]["web"]
    env = {k: pattern.sub(value, str(v)) for k, v in web["environment"].items()}
    return {"PATH": f"{A_BIN}:/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "config.settings", **env}


def check_deploy(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(A_BIN / "python"), "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=SYSTEM_A,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_composes_environment_and_make_envs_secrets(
    tmp_path: Path,
) -> None:
    dotenv = dotenv_from_make_env(tmp_path)
    result = check_deploy(web_environment(dotenv))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert len(dotenv["DJANGO_SECRET_KEY"]) >= 50


def test_the_plain_http_demo_differs_only_by_the_https_warnings(tmp_path: Path) -> None:
    dotenv = {**dotenv_from_make_env(tmp_path), "DJANGO_HTTPS": "false"}
    result = check_deploy(web_environment(dotenv))

    assert set(re.findall(r"\(security\.W\d+\)", result.stdout + result.stderr)) == {
        f"({code})" for code in HTTPS_WARNINGS
    }


@pytest.mark.parametrize(
    ("variable", "setting", "value"),
    [
        ("DJANGO_SECURE_HSTS_SECONDS", "SECURE_HSTS_SECONDS", "60"),
        ("DJANGO_SECURE_SSL_REDIRECT", "SECURE_SSL_REDIRECT", "False"),
        ("DJANGO_SECURE_HSTS_PRELOAD", "SECURE_HSTS_PRELOAD", "False"),
    ],
)
def test_each_https_setting_can_be_set_from_the_environment(
    variable: str, setting: str, value: str, tmp_path: Path
) -> None:
    env = {**web_environment(dotenv_from_make_env(tmp_path)), variable: value.lower()}
    result = subprocess.run(
        [str(A_BIN / "python"), "-c", f"from django.conf import settings as s; print(s.{setting})"],
        cwd=SYSTEM_A,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.stdout.strip() == value, result.stderr
