"""docker-compose.yml follows the Compose specification and the project's deployment rules:
healthchecks everywhere, start order by health, restart policies, named volumes, no secret
defaults, and the one configuration vocabulary of both systems' settings. No engine needed."""

import copy
import importlib.resources
import json
import re
import subprocess
from typing import Any

import jsonschema
import pytest
import yaml

from harness.compose import S3_VARIANT, compose_files_merged
from harness.deploy import ENV_EXAMPLE, broker_users, compose_file
from harness.processes import REPO, TESTS_BIN

SETTINGS_FILES = {
    "a": REPO / "system_a" / "config" / "settings.py",
    "b": REPO / "system_b" / "src" / "system_b" / "settings.py",
}
A_SERVICES = {"migrate", "web", "worker-a", "beat", "flower"}
B_SERVICES = {"worker-b"}
INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:?[-?+])?([^}]*)\}")
SECRET_NAME = re.compile(r"PASSWORD|SECRET|_KEY$|TOKEN")


def compose_spec_schema() -> dict[str, Any]:
    """The Compose specification's JSON schema, as check-jsonschema (PyPI) vendors it."""
    vendor = importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
    schema: dict[str, Any] = json.loads((vendor / "compose-spec.json").read_text())
    return schema


def schema_errors(document: dict[str, Any]) -> list[str]:
    validator_class = jsonschema.validators.validator_for(compose_spec_schema())
    validator = validator_class(compose_spec_schema())
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(document)
    ]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return compose_file()


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = compose["services"]
    return services


def one_shots(services: dict[str, dict[str, Any]]) -> set[str]:
    return {name for name, s in services.items() if s.get("restart") == "no"}


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        return dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def settings_names(system: str) -> set[str]:
    text = SETTINGS_FILES[system].read_text()
    return set(re.findall(r"(?:env_\w+|_env_int|environ\.get)\(\s*\"([A-Z][A-Z0-9_]*)\"", text))


def test_the_compose_file_is_valid_against_the_compose_specification_schema(
    compose: dict[str, Any],
) -> None:
    assert schema_errors(compose) == []


def test_the_schema_check_rejects_a_compose_file_that_breaks_the_specification(
    compose: dict[str, Any],
) -> None:
    broken = copy.deepcopy(compose)
    broken["services"]["web"]["depends_on"]["migrate"]["condition"] = "when_it_feels_like_it"
    broken["services"]["web"]["restart_policy"] = "always"
    assert len(schema_errors(broken)) >= 2


def test_every_long_running_service_has_a_healthcheck_and_a_restart_policy(
    services: dict[str, dict[str, Any]],
) -> None:
    for name, service in services.items():
        if name in one_shots(services):
            continue
        assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
        assert not service["healthcheck"].get("disable"), name
        assert service.get("restart") in ("unless-stopped", "always", "on-failure"), name


def test_one_shot_services_say_so_and_are_awaited_until_they_complete(
    services: dict[str, dict[str, Any]],
) -> None:
    assert one_shots(services) == {"broker-definitions", "redis-acl", "migrate"}
    for name in one_shots(services):
        assert services[name]["healthcheck"] == {"disable": True}, name
    for name, service in services.items():
        for dependency, rule in service.get("depends_on", {}).items():
            expected = (
                "service_completed_successfully"
                if dependency in one_shots(services)
                else "service_healthy"
            )
            assert rule == {"condition": expected}, f"{name} -> {dependency}: {rule}"


def test_start_order_lets_each_consumer_declare_its_queue_before_anyone_publishes_to_it(
    services: dict[str, dict[str, Any]],
) -> None:
    # Publishers never declare the other system's queue (each system's celery app).
    assert "worker-a" in services["worker-b"]["depends_on"]
    assert "worker-b" in services["web"]["depends_on"]
    for name in ("web", "worker-a", "worker-b", "beat", "flower"):
        assert "rabbitmq" in services[name]["depends_on"], name
    assert "broker-definitions" in services["rabbitmq"]["depends_on"]


def test_data_and_shared_storage_live_in_named_volumes(
    compose: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    named = set(compose["volumes"])
    data = {
        "postgres": "/var/lib/postgresql/data",
        "rabbitmq": "/var/lib/rabbitmq",
        "redis": "/data",
    }
    for name, path in data.items():
        assert f"{name}:{path}" in services[name]["volumes"], name
    for name in ("web", "worker-a", "worker-b", "beat", "migrate"):
        assert "storage:/data/storage" in services[name]["volumes"], name
        assert environment(services[name])["CROSSLINK_STORAGE_ROOT"] == "/data/storage", name
    assert {"postgres", "rabbitmq", "redis", "storage", "broker-definitions"} <= named


def test_no_secret_has_a_default_and_every_variable_is_in_the_env_example() -> None:
    # Both variants' files: the object-storage one adds its own secrets.
    lines = [
        line
        for path in (REPO / "docker-compose.yml", S3_VARIANT)
        for line in path.read_text().splitlines()
    ]
    text = "\n".join(line for line in lines if not line.lstrip().startswith("#"))
    found = INTERPOLATION.findall(text)
    assert found
    for name, operator, _ in found:
        if SECRET_NAME.search(name):
            assert operator == ":?", f"${{{name}}} must be required (:?), not {operator!r}"
    example = dict(
        line.split("=", 1)
        for line in ENV_EXAMPLE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    )
    # Required variables are listed, empty; an optional one (${VAR:-default}, never a secret)
    # is described in a comment.
    assert {name for name, operator, _ in found if operator != ":-"} == set(example)
    for name in {name for name, operator, _ in found if operator == ":-"}:
        assert f"# {name}=" in ENV_EXAMPLE.read_text(), name
    assert all(value == "" for value in example.values()), ".env.example must hold no secrets"


def test_no_password_is_written_into_the_compose_file(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        for key, value in environment(service).items():
            for password in re.findall(r"://[^:/@]+:([^@]+)@", value):
                assert INTERPOLATION.fullmatch(password), f"{name} {key} has a literal password"
            if SECRET_NAME.search(key):
                assert INTERPOLATION.search(value), f"{name} {key} is not from .env"


def test_app_services_use_only_the_environment_names_their_settings_read(
    services: dict[str, dict[str, Any]],
) -> None:
    a_names, b_names = settings_names("a"), settings_names("b")
    shared = {"CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "CROSSLINK_STORAGE_ROOT"}
    assert shared <= a_names & b_names
    for name in A_SERVICES:
        # Flower's empty DJANGO_SETTINGS_MODULE keeps Celery from loading A's settings, and
        # CROSSLINK_MONITOR_SYSTEM is read by its app, shared_schema.wire.monitor.
        monitor = {"DJANGO_SETTINGS_MODULE", "CROSSLINK_MONITOR_SYSTEM"}
        extra = {
            k
            for k in environment(services[name])
            if not k.startswith("FLOWER_") and k not in monitor
        }
        assert extra <= a_names, f"{name}: {extra - a_names}"
    for name in B_SERVICES:
        assert set(environment(services[name])) <= b_names, name


def test_each_system_connects_as_its_own_broker_user_on_the_crosslink_vhost(
    services: dict[str, dict[str, Any]],
) -> None:
    rules = broker_users().rules_load()
    users = {u.name for u in rules.users}
    expected = {"worker-a": "system_a", "web": "system_a", "beat": "system_a"}
    expected |= {"migrate": "system_a", "worker-b": "system_b", "flower": "flower"}
    for name, user in expected.items():
        url = environment(services[name])["CELERY_BROKER_URL"]
        match = re.fullmatch(r"amqp://([^:]+):\$\{[A-Z_]+:\?[^}]*\}@rabbitmq:5672/(.+)", url)
        assert match, f"{name}: {url}"
        assert match.groups() == (user, rules.vhost), name
        assert user in users


def test_every_image_is_pinned_to_a_tag_other_than_latest(
    services: dict[str, dict[str, Any]],
) -> None:
    for name, service in services.items():
        image = service.get("image", "")
        if "build" in service:
            assert image.startswith("crosslink/"), name
            continue
        assert ":" in image, f"{name} image {image!r} has no tag"
        assert not image.endswith(":latest"), name


def test_flower_is_published_and_protected_by_a_password(
    services: dict[str, dict[str, Any]],
) -> None:
    flower = services["flower"]
    assert "127.0.0.1:5555:5555" in flower["ports"]
    assert "flower" in flower["command"]
    assert environment(flower)["FLOWER_BASIC_AUTH"].startswith("admin:${FLOWER_PASSWORD:?")


# --- Hardening (docs/security.md) ---------------------------------------------------------------

APP_SERVICES = A_SERVICES | B_SERVICES
DATA_SERVICES = {"rabbitmq", "redis", "postgres"}
# The observability profile's third-party images (docs/observability.md): hardened, with roots
# left writable (their images keep state outside declared volumes).
OBSERVABILITY = {"otel-collector", "jaeger", "prometheus"}


def test_no_service_keeps_capabilities_or_gains_privileges(
    services: dict[str, dict[str, Any]],
) -> None:
    for name, service in services.items():
        assert service.get("cap_drop") == ["ALL"], name
        assert "no-new-privileges:true" in service.get("security_opt", []), name
        if name in APP_SERVICES | one_shots(services):
            assert "cap_add" not in service, name
    # The data services' entrypoints start as root and drop to their own user: only that.
    for name in DATA_SERVICES:
        assert set(services[name].get("cap_add", [])) <= {
            "CHOWN",
            "DAC_OVERRIDE",
            "FOWNER",
            "SETUID",
            "SETGID",
        }, name


def test_every_service_but_the_broker_has_a_read_only_root(
    services: dict[str, dict[str, Any]],
) -> None:
    for name, service in services.items():
        if name == "rabbitmq" or name in OBSERVABILITY:
            continue  # Erlang writes its cookie and crash dumps outside the volume
        assert service.get("read_only") is True, name
    for name in APP_SERVICES | {"postgres"}:
        assert "/tmp" in services[name]["tmpfs"], name


def test_each_service_reaches_only_the_networks_of_what_it_uses(
    compose: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    networks = compose["networks"]
    for name in ("broker", "results", "database", "telemetry"):
        assert networks[name] == {"internal": True}, name
    expected = {
        "rabbitmq": {"broker", "edge"},
        "redis": {"results"},
        "postgres": {"database"},
        "migrate": {"database"},
        "worker-a": {"broker", "results", "database"},
        "worker-b": {"broker", "results"},
        "web": {"edge", "broker", "results", "database"},
        "beat": {"broker"},
        "flower": {"edge", "broker", "results"},
        "otel-collector": {"telemetry"},
        "jaeger": {"telemetry", "edge"},
        "prometheus": {"telemetry", "edge"},
    }
    for name, service in services.items():
        if name in one_shots(services) - {"migrate"}:
            assert service["network_mode"] == "none", name
            continue
        assert set(service["networks"]) == expected[name], name
    # Only services on edge publish ports.
    for name, service in services.items():
        if service.get("ports"):
            assert "edge" in service["networks"], name
    assert "database" not in services["worker-b"]["networks"]


def test_flower_gets_only_the_variables_it_needs(services: dict[str, dict[str, Any]]) -> None:
    assert set(environment(services["flower"])) == {
        "CELERY_BROKER_URL",
        "CELERY_RESULT_BACKEND",
        "FLOWER_BASIC_AUTH",
        "DJANGO_SETTINGS_MODULE",
        "CROSSLINK_MONITOR_SYSTEM",
    }
    assert environment(services["flower"])["DJANGO_SETTINGS_MODULE"] == ""
    # The monitor's app, not A's (which would load Django and A's secrets); it controls A only.
    assert services["flower"]["command"][:3] == ["celery", "-A", "shared_schema.wire.monitor"]
    assert environment(services["flower"])["CROSSLINK_MONITOR_SYSTEM"] == "system_a"


def test_each_system_uses_its_own_redis_user_and_the_default_user_is_cut_down(
    services: dict[str, dict[str, Any]],
) -> None:
    expected = {"web": "system_a", "worker-a": "system_a", "worker-b": "system_b"}
    expected |= {"flower": "flower", "beat": "system_a", "migrate": "system_a"}
    for name, user in expected.items():
        url = environment(services[name])["CELERY_RESULT_BACKEND"]
        assert re.fullmatch(rf"redis://{user}:\$\{{REDIS_[A-Z_]+:\?[^}}]*\}}@redis:6379/0", url), (
            url
        )
    assert services["redis"]["command"][-2:] == ["--aclfile", "/etc/redis/acl/users.acl"]
    assert services["redis"]["depends_on"] == {
        "redis-acl": {"condition": "service_completed_successfully"}
    }


# --- The object-storage variant (deploy/storage/compose.s3.yml) ---------------------------------

STORAGE_DIR = REPO / "deploy" / "storage"
S3_ROOT = "s3://crosslink"
SYSTEM_OF = {name: "a" for name in A_SERVICES} | {name: "b" for name in B_SERVICES}
# The only services on MinIO's network: A's that read or write files, B's, and the one-shot.
ON_STORAGE_NETWORK = {"minio", "storage-users", "web", "worker-a", "worker-b"}
# boto3 reads these itself (shared_schema.storage's S3 store): no settings file names them.
AWS_NAMES = {"AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}


@pytest.fixture(scope="module")
def s3_compose() -> dict[str, Any]:
    return compose_files_merged(REPO / "docker-compose.yml", S3_VARIANT)


@pytest.fixture(scope="module")
def s3_services(s3_compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = s3_compose["services"]
    return services


def storage_users() -> list[dict[str, str]]:
    users: list[dict[str, str]] = json.loads((STORAGE_DIR / "users.json").read_text())["users"]
    return users


def policy_grants(name: str) -> dict[str, set[str]]:
    """{resource: the actions allowed on it} of deploy/storage/policies/NAME.json."""
    policy = json.loads((STORAGE_DIR / "policies" / f"{name}.json").read_text())
    grants: dict[str, set[str]] = {}
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow", statement
        assert set(statement) <= {"Sid", "Effect", "Action", "Resource"}, statement
        for resource in statement["Resource"]:
            grants.setdefault(resource, set()).update(statement["Action"])
    return grants


def test_the_object_storage_variant_is_valid_against_the_compose_specification_schema(
    s3_compose: dict[str, Any],
) -> None:
    assert schema_errors(s3_compose) == []


def test_in_the_object_storage_variant_a_and_b_share_no_volume(
    s3_compose: dict[str, Any], s3_services: dict[str, dict[str, Any]]
) -> None:
    assert "storage" not in s3_compose["volumes"]
    mounted_by: dict[str, set[str]] = {}
    for name, service in s3_services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            mounted_by.setdefault(source, set()).add(SYSTEM_OF.get(name, name))
    for source, systems in mounted_by.items():
        assert not {"a", "b"} <= systems, f"A and B both mount {source}"
    for name in ("web", "worker-a", "worker-b", "migrate", "beat"):
        assert not s3_services[name].get("volumes"), name
        assert environment(s3_services[name])["CROSSLINK_STORAGE_ROOT"] == S3_ROOT, name


def test_the_shared_volume_variant_does_share_the_volume_so_the_check_above_can_fail(
    services: dict[str, dict[str, Any]],
) -> None:
    # The default stack, which the check above must tell apart from the object-storage one.
    assert "storage:/data/storage" in services["web"]["volumes"]
    assert "storage:/data/storage" in services["worker-b"]["volumes"]


def test_minio_is_pinned_healthchecked_and_alone_with_its_volume_on_an_internal_network(
    s3_compose: dict[str, Any], s3_services: dict[str, dict[str, Any]]
) -> None:
    minio = s3_services["minio"]
    assert re.fullmatch(r"minio/minio:RELEASE\.\d{4}-\d\d-\d\dT[\d-]+Z", minio["image"])
    assert minio["healthcheck"]["test"] == ["CMD", "mc", "ready", "local"]
    assert minio["restart"] == "unless-stopped"
    assert minio["volumes"] == ["minio:/data"]
    assert "minio" in s3_compose["volumes"]
    assert minio["networks"] == ["storage"]
    assert s3_compose["networks"]["storage"] == {"internal": True}
    assert "ports" not in minio
    on_network = {name for name, s in s3_services.items() if "storage" in s.get("networks", [])}
    assert on_network == ON_STORAGE_NETWORK
    assert environment(minio)["MINIO_ROOT_PASSWORD"].startswith("${MINIO_ROOT_PASSWORD:?")


def test_a_and_b_start_only_after_the_one_shot_made_the_bucket_and_their_users(
    s3_services: dict[str, dict[str, Any]],
) -> None:
    one_shot = s3_services["storage-users"]
    assert one_shot["restart"] == "no"
    assert one_shot["healthcheck"] == {"disable": True}
    assert one_shot["depends_on"] == {"minio": {"condition": "service_healthy"}}
    for name in ("web", "worker-a", "worker-b"):
        depends = s3_services[name]["depends_on"]
        assert depends["storage-users"] == {"condition": "service_completed_successfully"}, name
        assert depends["minio"] == {"condition": "service_healthy"}, name


def test_the_shipped_one_shot_applies_users_and_policies_and_only_ci_asks_for_the_bucket_only(
    s3_services: dict[str, dict[str, Any]],
) -> None:
    assert s3_services["storage-users"]["command"] == [
        "python",
        "/deploy/storage_users.py",
        "apply",
    ]
    adapter = yaml.safe_load((REPO / "deploy" / "ci" / "minio" / "compose.yml").read_text())
    assert adapter == {
        "services": {
            "storage-users": {
                "command": ["python", "/deploy/storage_users.py", "apply", "--bucket-only"]
            }
        }
    }


def test_each_system_reaches_the_store_with_its_own_key_from_the_env_file(
    s3_services: dict[str, dict[str, Any]],
) -> None:
    secret_env = {u["name"]: u["secret_env"] for u in storage_users()}
    key_of = {"web": "system-a", "worker-a": "system-a", "worker-b": "system-b"}
    for name, user in key_of.items():
        env = environment(s3_services[name])
        assert env["AWS_ACCESS_KEY_ID"] == user, name
        assert env["AWS_SECRET_ACCESS_KEY"] == f"${{{secret_env[user]}:?set in .env}}", name
        assert env["AWS_ENDPOINT_URL"] == "http://minio:9000", name
    # Services that touch no file get the storage setting, but neither a key nor the network.
    for name in ("migrate", "beat", "flower"):
        assert not AWS_NAMES & set(environment(s3_services[name])), name
    one_shot = environment(s3_services["storage-users"])
    assert {*secret_env.values(), "MINIO_ROOT_PASSWORD", "CROSSLINK_STORAGE_ROOT"} <= set(one_shot)
    assert one_shot["CROSSLINK_STORAGE_ROOT"] == S3_ROOT


def test_app_services_of_the_variant_use_only_names_their_settings_or_boto3_read(
    s3_services: dict[str, dict[str, Any]],
) -> None:
    a_names, b_names = settings_names("a"), settings_names("b")
    for name in ("web", "worker-a", "migrate", "beat"):
        assert set(environment(s3_services[name])) - AWS_NAMES <= a_names, name
    assert set(environment(s3_services["worker-b"])) - AWS_NAMES <= b_names


def test_the_policies_give_each_system_only_its_side_of_the_bucket() -> None:
    bucket = "arn:aws:s3:::crosslink"
    assert {u["name"]: u["policy"] for u in storage_users()} == {
        "system-a": "system-a",
        "system-b": "system-b",
    }
    assert policy_grants("system-a") == {
        f"{bucket}/uploads/*": {"s3:PutObject", "s3:AbortMultipartUpload", "s3:DeleteObject"},
        f"{bucket}/outputs/*": {"s3:GetObject", "s3:DeleteObject"},
    }
    # A server-side copy of an upload into outputs/ reads the one and writes the other.
    assert policy_grants("system-b") == {
        f"{bucket}/uploads/*": {"s3:GetObject"},
        f"{bucket}/outputs/*": {"s3:PutObject", "s3:AbortMultipartUpload"},
    }


def test_the_storage_one_shot_and_the_stand_in_run_nothing_as_root_they_need_not(
    s3_services: dict[str, dict[str, Any]],
) -> None:
    one_shot = s3_services["storage-users"]
    assert one_shot["read_only"] is True
    assert one_shot["cap_drop"] == ["ALL"]
    assert "cap_add" not in one_shot
    assert "no-new-privileges:true" in one_shot["security_opt"]
    minio = s3_services["minio"]
    assert minio["cap_drop"] == ["ALL"]
    assert "cap_add" not in minio
    assert "no-new-privileges:true" in minio["security_opt"]


def test_hadolint_finds_nothing_in_the_storage_one_shot_s_dockerfile() -> None:
    dockerfile = STORAGE_DIR / "Dockerfile"
    result = subprocess.run(
        [str(TESTS_BIN / "hadolint"), "--no-color", str(dockerfile)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    text = dockerfile.read_text()
    assert "--require-hashes" in text
    assert re.search(r"^USER [1-9]\d*:[1-9]\d*$", text, re.MULTILINE)


def test_with_observability_named_after_it_the_variant_keeps_the_metrics_volume() -> None:
    observability = REPO / "deploy" / "observability" / "compose.yml"
    documented = compose_files_merged(REPO / "docker-compose.yml", S3_VARIANT, observability)
    for name in ("web", "worker-a"):
        assert documented["services"][name]["volumes"] == ["metrics-a:/tmp/metrics-a"], name
    # The other order loses it: why deploy/storage/compose.s3.yml says which comes first.
    reversed_order = compose_files_merged(REPO / "docker-compose.yml", observability, S3_VARIANT)
    assert not reversed_order["services"]["web"].get("volumes")
