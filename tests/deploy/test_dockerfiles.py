"""Each system's Dockerfile passes hadolint, builds in stages from a base image given as a
build argument, installs exactly its lock file, runs as a non-root user, and every command the
image or the compose file runs exists in that system's environment and lock file. No engine."""

import functools
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from harness.deploy import (
    DOCKERFILES,
    compose_file,
    dockerfile_cmd,
    dockerfile_instructions,
    exec_form,
)
from harness.processes import A_BIN, B_BIN, REPO, TESTS_BIN, run_json

BIN = {"a": A_BIN, "b": B_BIN}
# Each system's directory, named in full so that `make rename` can rename it.
DIR = {"a": "system_a", "b": "system_b"}
SERVICE_SYSTEM = {
    "migrate": "a",
    "web": "a",
    "worker-a": "a",
    "beat": "a",
    "flower": "a",
    "worker-b": "b",
}
SHELL_BUILTINS = {"kill", "cat", "test", "["}

WHO_PROVIDES = """
import json, sys
from importlib.metadata import distributions
scripts = {}
for dist in distributions():
    for ep in dist.entry_points:
        if ep.group == "console_scripts":
            scripts[ep.name] = dist.metadata["Name"]
print(json.dumps(scripts))
"""


def lock_names(system: str) -> set[str]:
    text = (REPO / DIR[system] / "requirements.lock").read_text()
    return {m.lower().replace("_", "-") for m in re.findall(r"^([A-Za-z0-9_.-]+)==", text, re.M)}


def console_scripts(system: str) -> dict[str, str]:
    scripts: dict[str, str] = run_json([str(BIN[system] / "python"), "-c", WHO_PROVIDES], cwd=REPO)
    return scripts


def assert_runs_from_lock(system: str, argv: list[str]) -> None:
    """``argv[0]`` is in the system's environment and comes from its runtime lock file (or is
    the interpreter itself)."""
    executable = argv[0]
    assert (BIN[system] / executable).exists(), f"{executable} is not in {DIR[system]}/.venv"
    if executable == "python":
        return
    dist = console_scripts(system)[executable].lower().replace("_", "-")
    assert dist in lock_names(system), f"{executable} comes from {dist}, not in the lock file"


def commands_of(service: dict[str, Any], system: str) -> list[list[str]]:
    """The service's command and its healthcheck's commands (shell parts split on && / ;)."""
    commands = [list(service.get("command") or dockerfile_cmd(DOCKERFILES[system]))]
    test = service.get("healthcheck", {}).get("test")
    if test and test[0] == "CMD":
        commands.append(list(test[1:]))
    elif test and test[0] == "CMD-SHELL":
        lexer = shlex.shlex(test[1], posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        argv: list[str] = []
        for token in [*lexer, "&&"]:
            if token in ("&&", "||", ";"):
                if argv and argv[0] not in SHELL_BUILTINS:
                    commands.append(argv)
                argv = []
            else:
                argv.append(token)
    return commands


@pytest.mark.parametrize("system", ["a", "b"])
def test_hadolint_finds_nothing_in_the_dockerfile(system: str) -> None:
    result = subprocess.run(
        [str(TESTS_BIN / "hadolint"), "--no-color", str(DOCKERFILES[system])],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_does_fail_on_a_dockerfile_that_runs_as_root_from_latest(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install celery\nUSER root\n")
    result = subprocess.run(
        [str(TESTS_BIN / "hadolint"), "--no-color", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "DL3007" in result.stdout  # latest
    assert "DL3002" in result.stdout  # last USER is root


@pytest.mark.parametrize("system", ["a", "b"])
def test_the_image_builds_in_stages_from_the_base_image_build_argument(system: str) -> None:
    instructions = dockerfile_instructions(DOCKERFILES[system])
    assert instructions[0].keyword == "ARG"
    assert instructions[0].arguments.startswith("BASE_IMAGE=")
    froms = [i.arguments for i in instructions if i.keyword == "FROM"]
    assert len(froms) >= 2, "multi-stage: build and runtime"
    assert all(f.split()[0] == "${BASE_IMAGE}" for f in froms)


def pip_runs(system: str) -> list[str]:
    """Each pip command the Dockerfile runs (RUN lines split on ``&&``)."""
    runs = [i.arguments for i in dockerfile_instructions(DOCKERFILES[system]) if i.keyword == "RUN"]
    return [part.strip() for run in runs for part in run.split("&&") if "/bin/pip " in part]


@pytest.mark.parametrize("system", ["a", "b"])
def test_the_image_installs_its_own_lock_file_with_hashes_and_nothing_resolved(
    system: str,
) -> None:
    copies = [
        i.arguments for i in dockerfile_instructions(DOCKERFILES[system]) if i.keyword == "COPY"
    ]
    assert f"{DIR[system]}/requirements.lock /tmp/requirements.lock" in copies
    assert "deploy/requirements-build.lock /tmp/requirements-build.lock" in copies
    installs = [run for run in pip_runs(system) if " install " in run]
    locked = [run for run in installs if " -r /tmp/requirements" in run]
    assert {run.split(" -r ")[1] for run in locked} == {
        "/tmp/requirements.lock",  # the runtime environment
        "/tmp/requirements-build.lock",  # the build backend, in a stage-only environment
    }
    assert all("--require-hashes" in run and "--no-deps" in run for run in locked)
    # Everything else installed is the project's own code: wheels built here, nothing fetched.
    assert all(
        "--no-deps" in run and "--no-index" in run and "/tmp/wheels/" in run
        for run in installs
        if run not in locked
    )


@pytest.mark.parametrize("system", ["a", "b"])
def test_the_images_own_packages_are_built_by_the_locked_backend_without_isolation(
    system: str,
) -> None:
    wheels = [run for run in pip_runs(system) if " wheel " in run]
    assert wheels, "the project's packages are not built as wheels"
    for run in wheels:
        assert run.startswith("/opt/build/bin/pip ")  # the environment of the build lock
        assert "--no-build-isolation" in run
        assert "--no-deps" in run


def test_the_build_backend_lock_builds_every_package_the_images_install(tmp_path: Path) -> None:
    """What the images' build stage runs, here: a venv from the build lock alone builds the
    project's packages, and they install with no index at all."""
    build, runtime, wheels = tmp_path / "build", tmp_path / "runtime", tmp_path / "wheels"
    for venv in (build, runtime):
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = [str(build / "bin" / "python"), "-m", "pip", "--disable-pip-version-check"]
    lock = REPO / "deploy" / "requirements-build.lock"
    run = functools.partial(subprocess.run, check=True, timeout=300, capture_output=True)
    run([*pip, "install", "--no-cache-dir", "--require-hashes", "--no-deps", "-r", str(lock)])
    packages = [str(REPO / "shared_schema"), str(REPO / "system_b")]
    run([*pip, "wheel", "--no-deps", "--no-build-isolation", "--wheel-dir", str(wheels), *packages])
    built = sorted(wheel.name.split("-")[0] for wheel in wheels.glob("*.whl"))
    assert built == ["crosslink_shared_schema", "crosslink_system_b"]
    run(
        [
            str(runtime / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-index",
            *map(str, wheels.glob("*.whl")),
        ]
    )


def test_the_build_backend_pinned_by_the_packages_is_the_locked_one() -> None:
    locked = re.search(
        r"^hatchling==(\S+)", (REPO / "deploy" / "requirements-build.lock").read_text(), re.M
    )
    assert locked is not None
    for package in ("shared_schema", "system_b"):
        pyproject = tomllib.loads((REPO / package / "pyproject.toml").read_text())
        assert pyproject["build-system"]["requires"] == [f"hatchling=={locked.group(1)}"]


@pytest.mark.parametrize("system", ["a", "b"])
def test_the_image_runs_as_a_numeric_non_root_user(system: str) -> None:
    instructions = dockerfile_instructions(DOCKERFILES[system])
    users = [i.arguments for i in instructions if i.keyword == "USER"]
    assert users, "no USER: the image would run as root"
    uid = users[-1].split(":")[0]
    assert uid.isdigit()
    assert int(uid) != 0
    last_from = max(n for n, i in enumerate(instructions) if i.keyword == "FROM")
    user_at = max(n for n, i in enumerate(instructions) if i.keyword == "USER")
    cmd_at = max(n for n, i in enumerate(instructions) if i.keyword == "CMD")
    assert last_from < user_at < cmd_at


@pytest.mark.parametrize("system", ["a", "b"])
def test_the_images_command_exists_in_the_systems_environment_and_lock(system: str) -> None:
    assert_runs_from_lock(system, dockerfile_cmd(DOCKERFILES[system]))


@pytest.mark.parametrize("service", sorted(SERVICE_SYSTEM))
def test_every_command_compose_runs_exists_in_the_systems_environment_and_lock(
    service: str,
) -> None:
    system = SERVICE_SYSTEM[service]
    definition = compose_file()["services"][service]
    assert definition["build"]["dockerfile"] == f"{DIR[system]}/Dockerfile"
    for argv in commands_of(definition, system):
        assert_runs_from_lock(system, argv)


def test_the_compose_commands_are_exec_form_lists_of_strings() -> None:
    for name, service in compose_file()["services"].items():
        if "command" in service:
            assert isinstance(service["command"], list), name
            assert all(isinstance(arg, str) for arg in service["command"]), name
    assert exec_form('["a", "b c"]') == ["a", "b c"]
