"""A's web server, A's worker and B's worker with everything observable switched on: traces to
an OTLP receiver inside the test, Prometheus metrics (A's multiprocess directory, B's port) and
JSON log lines. On a vhost of their own, so the session's plain workers never take their work."""

import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token

from harness.http import Reply, answers, request
from harness.otlp import Receiver, otlp_receiver
from harness.ports import free_port
from harness.processes import A_BIN, SYSTEM_A, ManagedProcess, celery_worker
from harness.rabbitmq import throwaway_vhost
from harness.waiting import wait_for
from shared_schema.names import QUEUE_SYSTEM_A, QUEUE_SYSTEM_B


@dataclass
class Observed:
    web: str
    b_metrics: str
    receiver: Receiver
    web_process: ManagedProcess
    worker_a: ManagedProcess
    worker_b: ManagedProcess

    def describe(self) -> str:
        return "\n".join(
            f"--- {p.name} ---\n{p.tail(30)}"
            for p in (self.web_process, self.worker_a, self.worker_b)
        )


class Upload(Protocol):
    def __call__(self, name: str, content: bytes) -> int: ...


@pytest.fixture(scope="module")
def observed(wire: dict[str, str], run_dir: Path) -> Iterator[Observed]:
    base = run_dir / f"observed-{uuid.uuid4().hex[:8]}"
    metrics_dir = base / "a-metrics"
    metrics_dir.mkdir(parents=True)
    (base / "b-cwd").mkdir()
    web_port, b_port = free_port(), free_port()
    processes: list[ManagedProcess] = []
    with throwaway_vhost(settings.CELERY_BROKER_URL) as broker, otlp_receiver() as receiver:
        env = {
            **wire,
            "CELERY_BROKER_URL": broker,
            "CROSSLINK_LOG_FORMAT": "json",
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
            # Export within a fifth of a second instead of the default five.
            "OTEL_BSP_SCHEDULE_DELAY": "200",
        }
        a_env = {**env, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
        b_env = {**env, "CROSSLINK_METRICS_PORT": str(b_port)}
        web = ManagedProcess(
            name="web a (observed)",
            argv=[
                str(A_BIN / "python"),
                "manage.py",
                "runserver",
                f"127.0.0.1:{web_port}",
                "--noreload",
            ],
            cwd=SYSTEM_A,
            env=a_env,
            log_path=base / "web-a.log",
            ready_marker="Quit the server with",
        )
        worker_a = celery_worker(system="a", env=a_env, log_dir=base, queues=QUEUE_SYSTEM_A)
        worker_b = celery_worker(
            system="b", env=b_env, log_dir=base / "b-cwd", queues=QUEUE_SYSTEM_B
        )
        try:
            for process in (worker_a, worker_b, web):
                processes.append(process)
                process.start()
            url = f"http://127.0.0.1:{web_port}"
            wait_for(
                lambda: answers(f"{url}/healthz"),
                timeout=30,
                what="the observed web server to be healthy",
                describe=web.tail,
            )
            yield Observed(
                web=url,
                b_metrics=f"http://127.0.0.1:{b_port}/metrics",
                receiver=receiver,
                web_process=web,
                worker_a=worker_a,
                worker_b=worker_b,
            )
        finally:
            for process in reversed(processes):
                process.stop()
            # For docs/observability.md's picture: scripts/trace_waterfall.py renders these.
            if dump := os.environ.get("CROSSLINK_TRACE_DUMP"):
                Path(dump).write_text(
                    json.dumps([asdict(span) for span in receiver.snapshot()], indent=1)
                )


@pytest.fixture
def api_upload(observed: Observed, transactional_db: None) -> Upload:
    """Upload a file through A's JSON API as a fresh user; returns the new file's id."""
    user = User.objects.create_user(f"obs-{uuid.uuid4().hex[:8]}", password="unused-password")
    token = Token.objects.create(user=user).key

    def upload(name: str, content: bytes) -> int:
        reply: Reply = request(
            "POST",
            f"{observed.web}/api/files/",
            headers={"Authorization": f"Token {token}", "Accept": "application/json"},
            files={"file": (name, content)},
        )
        assert reply.status == 201, reply.body
        return int(reply.json()["id"])

    return upload
