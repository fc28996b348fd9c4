"""docker compose up for real, used from the host the way a person would, then broken: B's
worker restarted and killed with a file in flight, and the whole stack taken down and brought
back. The tests run in this order and share one stack."""

import base64
import json
import time
import urllib.error
import urllib.request
import uuid
from typing import Any

import pytest

from harness.compose import GOOD_CSV, IN_FLIGHT_ROWS, USERNAME, Api, Compose, Page, in_flight_csv
from harness.http import request
from harness.waiting import wait_for

pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def api(compose: Compose) -> Api:
    return Api(compose.url("web", 8000))


def one_shots(config: dict[str, Any]) -> set[str]:
    """Services others wait on to have exited with 0 (service_completed_successfully)."""
    return {
        dependency
        for service in config["services"].values()
        for dependency, condition in (service.get("depends_on") or {}).items()
        if condition.get("condition") == "service_completed_successfully"
    }


def test_every_service_is_up_and_healthy_and_every_one_shot_exited_cleanly(
    compose: Compose,
) -> None:
    config = compose.config()
    done = one_shots(config)
    containers = {c["Service"]: c for c in compose.containers()}
    assert set(containers) == set(config["services"]), "a service has no container"
    for name, service in config["services"].items():
        container = containers[name]
        if name in done:
            assert container["State"] == "exited", container
            assert container["ExitCode"] == 0, container
            continue
        assert container["State"] == "running", container
        if not (service.get("healthcheck") or {}).get("disable"):
            assert container["Health"] == "healthy", container


def test_a_file_uploaded_through_the_page_reaches_success_and_its_output_downloads(
    compose: Compose, api: Api
) -> None:
    page = Page(compose.url("web", 8000))
    assert USERNAME in page.login()
    name = f"page-{uuid.uuid4().hex[:6]}.csv"
    assert name in page.upload(name, GOOD_CSV)

    file = api.finished(compose, api.by_name(name)["id"])
    assert file["status"] == "SUCCESS", file
    assert file["summary"]["rows"] == 2
    output = page.get(f"/files/{file['id']}/download/")
    assert b"grace" in output


def test_a_file_uploaded_through_the_api_reaches_success_and_its_output_downloads(
    compose: Compose, api: Api
) -> None:
    file = api.finished(compose, api.upload(f"api-{uuid.uuid4().hex[:6]}.csv", GOOD_CSV)["id"])
    assert file["status"] == "SUCCESS", file
    assert file["summary"]["has_output"] is True
    assert b"ada" in api.download(file["id"])


def test_flower_shows_both_systems_workers_and_controls_only_as(compose: Compose) -> None:
    base = compose.url("flower", 5555)
    password = compose.dotenv["FLOWER_PASSWORD"]
    auth = base64.b64encode(f"admin:{password}".encode()).decode()

    def listed(query: str) -> set[str]:
        req = urllib.request.Request(
            f"{base}/api/workers?{query}", headers={"Authorization": f"Basic {auth}"}
        )
        with urllib.request.urlopen(req, timeout=30) as response:
            found: dict[str, Any] = json.loads(response.read())
        return {name.partition("@")[0] for name in found}

    # Both systems' workers, from the heartbeats every worker sends on the shared event exchange.
    seen = wait_for(
        lambda: (found := listed("status=1")) >= {"a", "b"} and found,
        timeout=60,
        what="Flower to see A's and B's workers",
        interval=2,
        describe=compose.describe,
    )
    assert {"a", "b"} <= seen
    # Its remote control (inspect) goes out on A's control exchange: A's workers answer, B's
    # listen on their own exchange only and never hear it.
    answered = wait_for(
        lambda: (found := listed("refresh=1")) >= {"a"} and found,
        timeout=60,
        what="A's workers to answer Flower's inspect",
        interval=2,
        describe=compose.describe,
    )
    assert "b" not in answered
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{base}/api/workers", timeout=30)
    assert refused.value.code == 401


# Run inside B's container with B's own broker URL: reading a queue needs the read permission.
BROKER_PROBE = """
import os, sys
import kombu
from amqp.exceptions import AccessRefused
with kombu.Connection(os.environ["CELERY_BROKER_URL"], connect_timeout=10) as connection:
    connection.channel().basic_get(sys.argv[1])
    for queue in sys.argv[2:]:
        try:
            connection.channel().basic_get(queue)
        except AccessRefused as refused:
            print(queue, "REFUSED", refused)
        else:
            print(queue, "READ")
"""


def test_b_s_broker_user_is_refused_a_s_queue_inside_the_stack(compose: Compose) -> None:
    # B may read its own queue (the probe's first basic_get raises if not); not A's.
    result = compose.run(
        "exec", "--no-TTY", "worker-b", "python", "-c", BROKER_PROBE,
        "system_b.remote", "system_a.callbacks",
    )  # fmt: skip
    assert "system_a.callbacks REFUSED" in result.stdout, result.stdout + result.stderr
    assert "403" in result.stdout


@pytest.mark.parametrize(
    "break_worker_b",
    [
        pytest.param(["restart", "worker-b"], id="restart"),
        pytest.param(["kill", "--signal", "KILL", "worker-b"], id="kill-9"),
    ],
)
def test_a_file_in_flight_when_worker_b_is_broken_ends_in_success(
    compose: Compose, api: Api, break_worker_b: list[str]
) -> None:
    file_id = api.upload(f"in-flight-{uuid.uuid4().hex[:6]}.csv", in_flight_csv())["id"]
    api.wait_started(compose, file_id)
    compose.run(*break_worker_b)
    if break_worker_b[0] == "kill":
        assert api.file(file_id)["status"] == "PROCESSING", "finished before B was killed"
    # (A restart's SIGTERM is Celery's warm shutdown: B may finish the file before it stops,
    # within compose's 10 s; or it is killed then, and the file is taken again.)
    # A killed container stays down (its restart policy does not apply to `kill`: seen here, it
    # was still exited after 10 s), so the operator brings it back; whichever worker-b runs next
    # takes the file again, B's unacknowledged message having gone back to its queue.
    compose.up("worker-b")
    file = api.finished(compose, file_id)
    assert file["status"] == "SUCCESS", file
    assert file["summary"]["rows"] == IN_FLIGHT_ROWS


def test_down_then_up_keeps_the_files(compose: Compose, api: Api) -> None:
    before = request("GET", compose.url("web", 8000, "/api/files/"), headers=api.headers).json()
    assert before["count"] >= 2
    compose.run("down", "--timeout", "10")
    assert compose.containers() == []
    started = time.monotonic()
    compose.up()
    compose.timings["start to healthy again (up --wait, volumes kept)"] = time.monotonic() - started

    after_api = Api(compose.url("web", 8000))  # the user and its login survived too
    for old in before["results"]:
        file = after_api.file(old["id"])
        assert file["status"] == old["status"] == "SUCCESS", file
    first = min(before["results"], key=lambda f: f["id"])
    assert after_api.download(first["id"])
