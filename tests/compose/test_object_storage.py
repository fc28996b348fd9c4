"""docker compose up with object storage (docker-compose.yml plus deploy/storage/compose.s3.yml)
and three of B's workers (`--scale worker-b=3`), used from the host the way a person would: A
and B share no volume, every file goes through the S3 server, all three workers take work, and
a file in flight when every B worker is killed still ends with exactly one output. The tests
run in this order and share one stack.

What this run cannot check where no registry serves MinIO's image and moto's server stands in
for it (deploy/ci/minio/): moto has no MinIO admin API and accepts any key, so the storage
one-shot creates the bucket only (--bucket-only) and the per-system users and policies are
neither applied nor enforced; and moto keeps objects in memory, so nothing outlives its
container. The tests of those say so and are skipped there; with MinIO they run.
"""

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.compose import (
    GOOD_CSV,
    IN_FLIGHT_ROWS,
    USERNAME,
    Api,
    Compose,
    Page,
    in_flight_csv,
    stack,
)

pytestmark = pytest.mark.timeout(900)

B_WORKERS = 3
# Files enough that RabbitMQ's round robin hands each of B's workers some.
MANY_FILES = 4 * B_WORKERS
BROKEN_CSV = b"a,b\n1\n"
# Not CSV already: B writes a normalized output of its own (a multipart upload where large).
TSV = b"id\tname\n1\tada\n2\tgrace\n"
A_SERVICES_WITH_STORAGE = ("web", "worker-a")

# Run in the one-shot's image, with its environment (the admin's key): every object in the
# bucket, {name: size}. The admin may list; neither system may.
STORE_LIST = """
import json, os
from urllib.parse import urlsplit
from minio import Minio
endpoint = urlsplit(os.environ["AWS_ENDPOINT_URL"])
bucket = os.environ["CROSSLINK_STORAGE_ROOT"].removeprefix("s3://").partition("/")[0]
client = Minio(endpoint.netloc, access_key=os.environ["MINIO_ROOT_USER"],
               secret_key=os.environ["MINIO_ROOT_PASSWORD"], secure=False,
               region=os.environ["AWS_DEFAULT_REGION"])
print(json.dumps({o.object_name: o.size for o in client.list_objects(bucket, recursive=True)}))
"""

# Run in a system's own container, with its own key (boto3, as the system's store uses it):
# each (action, key) of argv[1] and what the store answered, "allowed" or the error's code.
STORE_PROBE = """
import json, os, sys
import boto3, botocore.config, botocore.exceptions
s3 = boto3.client("s3", config=botocore.config.Config(s3={"addressing_style": "path"}))
bucket = os.environ["CROSSLINK_STORAGE_ROOT"].removeprefix("s3://").partition("/")[0]
answers = {}
for action, key in json.loads(sys.argv[1]):
    try:
        if action == "get":
            s3.get_object(Bucket=bucket, Key=key)["Body"].read(1)
        elif action == "put":
            s3.put_object(Bucket=bucket, Key=key, Body=b"probe")
        elif action == "delete":
            s3.delete_object(Bucket=bucket, Key=key)
        elif action == "list":
            s3.list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1)
        answers[f"{action} {key}"] = "allowed"
    except botocore.exceptions.ClientError as error:
        answers[f"{action} {key}"] = error.response["Error"]["Code"]
print(json.dumps(answers))
"""


def minio_stand_in() -> str | None:
    """The local image standing in for MinIO's in this run, if one does."""
    path = os.environ.get("CROSSLINK_COMPOSE_S3_STANDINS")
    standins: dict[str, str] = json.loads(Path(path).read_text()) if path else {}
    return next((local for image, local in standins.items() if image.startswith("minio/")), None)


def needs_minio(what: str) -> None:
    stand_in = minio_stand_in()
    if stand_in:
        pytest.skip(
            f"not checked in this run: {what}. MinIO's image cannot be pulled here and "
            f"{stand_in} (moto's S3 server) stands in for it, which has no MinIO admin API, "
            "accepts any key and keeps objects in memory only."
        )


@pytest.fixture(scope="module")
def compose_s3() -> Iterator[Compose]:
    with stack(
        args_env="CROSSLINK_COMPOSE_S3_ARGS",
        ports_env="CROSSLINK_COMPOSE_S3_PORTS",
        variant="object storage",
        up_options=("--scale", f"worker-b={B_WORKERS}"),
    ) as running:
        yield running


@pytest.fixture(scope="module")
def api(compose_s3: Compose) -> Api:
    return Api(compose_s3.url("web", 8000))


def stored(compose: Compose) -> dict[str, int]:
    """Every object in the bucket, as the store's admin sees it."""
    result = compose.run(
        "run", "--rm", "--no-deps", "--no-TTY", "storage-users", "python", "-c", STORE_LIST
    )
    objects: dict[str, int] = json.loads(result.stdout.strip().splitlines()[-1])
    return objects


def probe(compose: Compose, service: str, attempts: list[tuple[str, str]]) -> dict[str, str]:
    result = compose.run(
        "exec", "--no-TTY", service, "python", "-c", STORE_PROBE, json.dumps(attempts)
    )
    answers: dict[str, str] = json.loads(result.stdout.strip().splitlines()[-1])
    return answers


def new_objects(compose: Compose, before: dict[str, int]) -> dict[str, int]:
    return {name: size for name, size in stored(compose).items() if name not in before}


def upload_and_output(objects: dict[str, int]) -> tuple[str, str]:
    """The one upload and the one output among ``objects``, the output where B must put it."""
    uploads = [name for name in objects if name.startswith("uploads/")]
    outputs = [name for name in objects if name.startswith("outputs/")]
    assert len(uploads) == 1, objects
    assert outputs == [f"outputs/{uploads[0]}.normalized.csv"], objects
    return uploads[0], outputs[0]


def test_every_service_is_healthy_with_three_of_b_s_workers_and_the_one_shots_exited_cleanly(
    compose_s3: Compose,
) -> None:
    config = compose_s3.config()
    containers = compose_s3.containers()
    assert {c["Service"] for c in containers} == set(config["services"])
    workers = [c for c in containers if c["Service"] == "worker-b"]
    assert len(workers) == B_WORKERS, workers
    one_shots = {"broker-definitions", "redis-acl", "migrate", "storage-users"}
    for container in containers:
        if container["Service"] in one_shots:
            assert (container["State"], container["ExitCode"]) == ("exited", 0), container
            continue
        assert container["State"] == "running", container
        if not (config["services"][container["Service"]].get("healthcheck") or {}).get("disable"):
            assert container["Health"] == "healthy", container


def test_the_storage_one_shot_made_the_bucket_and_with_minio_each_system_s_user(
    compose_s3: Compose,
) -> None:
    log = compose_s3.run("logs", "--no-color", "storage-users").stdout
    assert "bucket crosslink: created" in log, log
    if minio_stand_in():
        # Said here, and in the log of the run: the stand-in got the bucket and nothing else.
        assert "users and policies left out (--bucket-only)" in log, log
        needs_minio("each system's user and policy, made through MinIO's admin API")
    assert "user system-a: policy system-a" in log, log
    assert "user system-b: policy system-b" in log, log


def test_a_and_b_share_no_volume_and_only_reach_the_store_over_the_network(
    compose_s3: Compose,
) -> None:
    config = compose_s3.config()
    assert "storage" not in config.get("volumes", {})
    for name in (*A_SERVICES_WITH_STORAGE, "worker-b", "migrate", "beat"):
        service = config["services"][name]
        assert not service.get("volumes"), f"{name} mounts {service.get('volumes')}"
        assert service["environment"]["CROSSLINK_STORAGE_ROOT"] == "s3://crosslink", name
    assert set(config["services"]["minio"]["networks"]) == {"storage"}
    assert not config["services"]["minio"].get("ports")
    # In the running containers too: nothing mounted where the shared volume used to be.
    where = [(name, 1) for name in A_SERVICES_WITH_STORAGE]
    where += [("worker-b", index) for index in range(1, B_WORKERS + 1)]
    for name, index in where:
        mounts = compose_s3.run(
            "exec", "--no-TTY", "--index", str(index), name, "cat", "/proc/self/mountinfo"
        ).stdout
        mount_points = {line.split()[4] for line in mounts.splitlines()}
        assert "/data/storage" not in mount_points, f"{name} #{index}"


def test_a_csv_uploaded_through_the_page_reaches_success_and_its_output_is_in_the_bucket(
    compose_s3: Compose, api: Api
) -> None:
    before = stored(compose_s3)
    page = Page(compose_s3.url("web", 8000))
    assert USERNAME in page.login()
    name = f"page-{uuid.uuid4().hex[:6]}.csv"
    assert name in page.upload(name, GOOD_CSV)

    file = api.finished(compose_s3, api.by_name(name)["id"])
    assert file["status"] == "SUCCESS", file
    assert file["summary"]["rows"] == 2
    assert b"grace" in page.get(f"/files/{file['id']}/download/")
    upload, output = upload_and_output(new_objects(compose_s3, before))
    assert before.keys().isdisjoint({upload, output})


def test_a_tsv_uploaded_through_the_api_reaches_success_and_its_normalized_output_downloads(
    compose_s3: Compose, api: Api
) -> None:
    before = stored(compose_s3)
    file = api.finished(compose_s3, api.upload(f"api-{uuid.uuid4().hex[:6]}.tsv", TSV)["id"])
    assert file["status"] == "SUCCESS", file
    assert file["summary"]["has_output"] is True
    output = api.download(file["id"])
    assert b"ada" in output
    assert b"\t" not in output
    objects = new_objects(compose_s3, before)
    upload, _ = upload_and_output(objects)
    assert objects[upload] == len(TSV)


def test_a_broken_file_fails_with_its_error_code(compose_s3: Compose, api: Api) -> None:
    file = api.finished(
        compose_s3, api.upload(f"broken-{uuid.uuid4().hex[:6]}.csv", BROKEN_CSV)["id"]
    )
    assert file["status"] == "FAILED", file
    assert file["error"]["code"] == "inconsistent_rows", file["error"]


def test_each_of_the_three_b_workers_takes_files_from_the_queue(
    compose_s3: Compose, api: Api
) -> None:
    ids = [
        api.upload(f"many-{n}-{uuid.uuid4().hex[:6]}.csv", GOOD_CSV)["id"]
        for n in range(MANY_FILES)
    ]
    for file_id in ids:
        assert api.finished(compose_s3, file_id)["status"] == "SUCCESS"
    task_ids = {task_id for file_id in ids for task_id in api.task_ids(file_id)}
    logs = compose_s3.logs_by_container("worker-b")
    assert len(logs) == B_WORKERS, sorted(logs)
    took = {name: sum(task_id in log for task_id in task_ids) for name, log in logs.items()}
    assert all(took.values()), f"files each worker took: {took}"


def test_a_file_in_flight_when_every_b_worker_is_killed_ends_in_success_with_one_output(
    compose_s3: Compose, api: Api
) -> None:
    before = stored(compose_s3)
    file_id = api.upload(f"in-flight-{uuid.uuid4().hex[:6]}.csv", in_flight_csv())["id"]
    api.wait_started(compose_s3, file_id)
    compose_s3.run("kill", "--signal", "KILL", "worker-b")  # all three
    assert api.file(file_id)["status"] == "PROCESSING", "finished before B was killed"
    # Whatever B had written of the output was never completed, so never visible; the message
    # goes back to B's queue and a worker brought back takes the file again.
    compose_s3.up("worker-b")
    file = api.finished(compose_s3, file_id)
    assert file["status"] == "SUCCESS", file
    assert file["summary"]["rows"] == IN_FLIGHT_ROWS
    objects = new_objects(compose_s3, before)
    _, output = upload_and_output(objects)
    assert len(api.download(file_id)) == objects[output]


def test_deleting_a_file_deletes_its_upload_and_output_from_the_bucket(
    compose_s3: Compose, api: Api
) -> None:
    before = stored(compose_s3)
    file = api.finished(compose_s3, api.upload(f"gone-{uuid.uuid4().hex[:6]}.csv", GOOD_CSV)["id"])
    assert file["status"] == "SUCCESS", file
    upload, output = upload_and_output(new_objects(compose_s3, before))

    api.delete(file["id"])  # with A's key, which may delete what A owns
    after = stored(compose_s3)
    assert upload not in after
    assert output not in after


def test_each_system_s_key_is_refused_what_its_policy_does_not_allow(
    compose_s3: Compose, api: Api
) -> None:
    needs_minio("each system's policy, enforced by the store")
    before = stored(compose_s3)
    file = api.finished(compose_s3, api.upload(f"probe-{uuid.uuid4().hex[:6]}.csv", GOOD_CSV)["id"])
    upload, output = upload_and_output(new_objects(compose_s3, before))
    probe_key = f"uploads/probe-{uuid.uuid4().hex}"

    a: dict[str, Any] = probe(
        compose_s3,
        "web",
        [
            ("put", probe_key),  # A writes uploads
            ("delete", probe_key),  # and deletes what it owns
            ("get", output),  # and reads outputs
            ("get", upload),  # but never reads an upload back,
            ("put", "outputs/forged.normalized.csv"),  # never writes an output
            ("list", "uploads/"),  # and never lists the bucket
        ],
    )
    assert list(a.values()) == ["allowed"] * 3 + ["AccessDenied"] * 3, a

    b = probe(
        compose_s3,
        "worker-b",
        [
            ("get", upload),  # B reads uploads
            ("put", "uploads/forged.csv"),  # but never writes one,
            ("delete", upload),  # never deletes an upload
            ("delete", output),  # nor even its own output (A owns every file's lifetime)
            ("get", output),  # never reads outputs back,
            ("list", "outputs/"),  # and never lists the bucket
        ],
    )
    assert list(b.values()) == ["allowed"] + ["AccessDenied"] * 5, b
    assert {upload, output} <= stored(compose_s3).keys()
    assert api.download(file["id"])


def test_down_then_up_keeps_the_files_in_the_bucket(compose_s3: Compose, api: Api) -> None:
    needs_minio("objects kept across `down` and `up` in MinIO's volume")
    before = stored(compose_s3)
    succeeded = [f for f in api.files() if f["status"] == "SUCCESS"]
    assert before
    assert succeeded
    compose_s3.run("down", "--timeout", "10")
    # The one-shot runs again on this `up`: applying the same users and policies twice is fine.
    compose_s3.up()
    assert stored(compose_s3) == before
    assert Api(compose_s3.url("web", 8000)).download(succeeded[0]["id"])
