"""The fault tests' batch harness: send a batch of files, break something, wait with a deadline,
then count what became of every file.

A file is

* **stuck** if it is still PENDING or PROCESSING when the deadline passes;
* **lost** if it finished, but not as its content says it should have (a good file that is not
  SUCCESS with its own checksum, a bad one without its error code): its outcome was lost or
  mixed up somewhere on the way.

Besides the counts, each test checks that every file's outcome was applied by A exactly once
(from A's worker logs) and that B ran each final attempt as often as the fault allows (from B's
worker logs).
"""

import hashlib
import os
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError, connection

from files import services
from files.models import File
from harness.logs import log_events
from harness.processes import A_BIN, SYSTEM_A, ManagedProcess, celery_worker
from harness.services import Postgres, RabbitMQ, Redis
from shared_schema.names import PROCESS_TASK, QUEUE_SYSTEM_A, QUEUE_SYSTEM_B

BATCH_FILES = int(os.environ.get("CROSSLINK_CHAOS_FILES", "50"))
"""Files per fault: 50 in ``make chaos``; ``make test`` sets fewer to stay within CI's time."""

FINISH_TIMEOUT_S = float(os.environ.get("CROSSLINK_CHAOS_TIMEOUT", "180"))

# Short periods so the sweeper acts within a test's lifetime; the defaults are minutes.
SWEEP_ENV = {
    "CROSSLINK_SWEEP_INTERVAL": "2",
    "CROSSLINK_PENDING_STALE_AFTER": "3",
    "CROSSLINK_PROCESSING_STALE_AFTER": "5",
    "CROSSLINK_PROCESSING_DEADLINE": "90",
    "CROSSLINK_STALE_POLICY": "fail",
    "CROSSLINK_BROKER_CONNECT_TIMEOUT": "2",
}


@dataclass
class Stack:
    rabbitmq: RabbitMQ
    redis: Redis
    postgres: Postgres
    run_dir: Path
    started_in: float
    storage_root: Path | None = None
    database_name: str = ""


@dataclass(frozen=True)
class FaultResult:
    fault: str
    sent: int
    succeeded: int
    failed: int
    lost: int
    stuck: int
    seconds: float

    def line(self) -> str:
        return (
            f"{self.fault:<38} sent {self.sent:3d}  succeeded {self.succeeded:3d}  "
            f"failed {self.failed:3d}  lost {self.lost:2d}  stuck {self.stuck:2d}  "
            f"({self.seconds:.0f}s)"
        )


RESULTS: list[FaultResult] = []


def summary_lines() -> list[str]:
    files = sum(r.sent for r in RESULTS)
    lost = sum(r.lost for r in RESULTS)
    stuck = sum(r.stuck for r in RESULTS)
    return [r.line() for r in RESULTS] + [f"files: {files}, lost: {lost}, stuck: {stuck}"]


# --- The batch ---------------------------------------------------------------------------------

_BLOCK = "".join(f"{n},row-{n},{n * 0.25:.2f},2026-01-{n % 28 + 1:02d}\n" for n in range(1000))
"""~30 KB of rows; a file repeats it to reach the size a fault needs."""


@dataclass(frozen=True)
class Expected:
    status: File.Status
    sha256: str = ""
    error_code: str = ""


def good_csv(index: int, *, blocks: int = 1) -> bytes:
    # The first row makes every file's content, and so its checksum, its own.
    first = f"0,file-{index},{index}.5,2026-01-01\n"
    return ("id,name,score,day\n" + first + _BLOCK * blocks).encode()


def upload_batch(count: int, *, blocks: int = 1, start: int = 0) -> dict[int, Expected]:
    """Upload ``count`` good files through A's service (dispatched on commit)."""
    expected: dict[int, Expected] = {}
    for index in range(start, start + count):
        content = good_csv(index, blocks=blocks)
        file = services.file_create(upload=SimpleUploadedFile(f"batch-{index}.csv", content))
        digest = hashlib.sha256(content).hexdigest()
        expected[file.pk] = Expected(File.Status.SUCCESS, sha256=digest)
    return expected


def _snapshot(ids: Iterable[int]) -> dict[int, File] | None:
    try:
        return {f.pk: f for f in File.objects.filter(pk__in=list(ids))}
    except DatabaseError:
        connection.close()  # PostgreSQL was restarted under this connection; reconnect next time
        return None


def wait_settled(
    expected: Mapping[int, Expected], *, timeout: float = FINISH_TIMEOUT_S
) -> dict[int, File]:
    """Every file's final state, once none is PENDING or PROCESSING, or when time runs out."""
    deadline = time.monotonic() + timeout
    open_states = (File.Status.PENDING, File.Status.PROCESSING)
    while True:
        files = _snapshot(expected)
        if files is not None and (
            all(f.status not in open_states for f in files.values()) or time.monotonic() >= deadline
        ):
            return files
        if files is None and time.monotonic() >= deadline:
            raise AssertionError("the database did not come back before the deadline")
        time.sleep(0.25)


def _is_as_expected(file: File, want: Expected) -> bool:
    if file.status != want.status:
        return False
    if want.status == File.Status.SUCCESS:
        return bool(file.result) and file.result.get("sha256") == want.sha256
    return bool(file.error_message) and (not want.error_code or file.error_code == want.error_code)


# --- The processes of one test -----------------------------------------------------------------


def b_tasks_done(log: str) -> list[str]:
    """The ids of B's ``remote.processing`` runs that completed (succeeded or failed)."""
    return [
        event["celery_task_id"]
        for event in log_events(log)
        if event.get("event") in ("task.succeeded", "task.failed")
        and event.get("celery_task_name") == PROCESS_TASK
    ]


def a_outcomes_applied(log: str) -> list[int]:
    """The file ids whose outcome A applied, once per application."""
    return [
        int(event["file_id"])
        for event in log_events(log)
        if event.get("event") in ("file.succeeded", "file.failed")
    ]


@dataclass
class Rig:
    """The workers (and beat) of one fault test, started against the private stack."""

    stack: Stack
    name: str
    processes: list[ManagedProcess] = field(default_factory=list)
    b_workers: list[ManagedProcess] = field(default_factory=list)
    a_workers: list[ManagedProcess] = field(default_factory=list)
    began: float = field(default_factory=time.monotonic)

    @property
    def log_dir(self) -> Path:
        return self.stack.run_dir / self.name

    def env(self, **overrides: str) -> dict[str, str]:
        db = connection.settings_dict
        return {
            **{k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "VIRTUAL_ENV"))},
            "CELERY_BROKER_URL": self.stack.rabbitmq.url,
            "CELERY_RESULT_BACKEND": self.stack.redis.url,
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:{db['PORT']}/{self.stack.database_name}",
            "CROSSLINK_STORAGE_ROOT": str(self.stack.storage_root),
            "DJANGO_DEBUG": "true",
            "PYTHONUNBUFFERED": "1",
            "CROSSLINK_LOG_FORMAT": "json",
            **SWEEP_ENV,
            **overrides,
        }

    def _run(self, process: ManagedProcess) -> ManagedProcess:
        self.processes.append(process)
        process.start()
        return process

    def start_a(self, **env: str) -> ManagedProcess:
        worker = celery_worker(
            system="a", env=self.env(**env), log_dir=self.log_dir, queues=QUEUE_SYSTEM_A
        )
        self.a_workers.append(worker)
        return self._run(worker)

    def start_b(self, *, concurrency: int = 2, **env: str) -> ManagedProcess:
        b_dir = self.log_dir / "b-cwd"
        b_dir.mkdir(parents=True, exist_ok=True)
        worker = celery_worker(
            system="b",
            env=self.env(**env),
            log_dir=b_dir,
            queues=QUEUE_SYSTEM_B,
            concurrency=concurrency,
        )
        self.b_workers.append(worker)
        return self._run(worker)

    def start_beat(self) -> ManagedProcess:
        return self._run(
            ManagedProcess(
                name=f"beat {self.name}",
                argv=[
                    str(A_BIN / "celery"),
                    "-A",
                    "config",
                    "beat",
                    "--loglevel",
                    "INFO",
                    "--schedule",
                    str(self.log_dir / "beat-schedule"),
                ],
                cwd=SYSTEM_A,
                env=self.env(),
                log_path=self.log_dir / "beat.log",
                ready_marker="beat: Starting",
            )
        )

    def start_all(self, **env: str) -> None:
        self.start_a(**env)
        self.start_b(**env)
        self.start_beat()

    def stop_all(self) -> None:
        for process in reversed(self.processes):
            process.stop()

    def b_log(self) -> str:
        return "\n".join(worker.log() for worker in self.b_workers)

    def a_log(self) -> str:
        return "\n".join(worker.log() for worker in self.a_workers)

    def describe(self) -> str:
        return "\n".join(f"--- {p.name} ---\n{p.tail(30)}" for p in self.processes)

    # --- accounting ----------------------------------------------------------------------------

    def settle(
        self,
        fault: str,
        expected: Mapping[int, Expected],
        *,
        b_runs_at_most: int = 1,
        timeout: float = FINISH_TIMEOUT_S,
    ) -> FaultResult:
        """Wait for the batch, record the fault's line, and check every file's bookkeeping.

        ``b_runs_at_most``: how often B may have completed a file's final attempt. 1 unless the
        fault kills B after it finished a task but before the broker got the ack, which
        at-least-once delivery answers with a second run (whose callback A ignores).
        """
        files = wait_settled(expected, timeout=timeout)
        stuck = [pk for pk, f in files.items() if f.status in ("PENDING", "PROCESSING")]
        stuck += [pk for pk in expected if pk not in files]
        lost = [
            pk
            for pk, want in expected.items()
            if pk in files and pk not in stuck and not _is_as_expected(files[pk], want)
        ]
        result = FaultResult(
            fault=fault,
            sent=len(expected),
            succeeded=sum(f.status == File.Status.SUCCESS for f in files.values()),
            failed=sum(f.status == File.Status.FAILED for f in files.values()),
            lost=len(lost),
            stuck=len(stuck),
            seconds=time.monotonic() - self.began,
        )
        RESULTS.append(result)
        detail = "\n".join(
            f"file {pk}: {files[pk].status} {files[pk].error_code} {files[pk].error_message}"
            for pk in (lost + stuck)[:10]
            if pk in files
        )
        assert not stuck, f"{result.line()}\n{detail}\n{self.describe()}"
        assert not lost, f"{result.line()}\n{detail}\n{self.describe()}"

        applied = Counter(a_outcomes_applied(self.a_log()))
        wrong = {pk: applied[pk] for pk in expected if applied[pk] != 1}
        assert not wrong, f"outcomes not applied exactly once (file: times): {wrong}"

        runs = Counter(b_tasks_done(self.b_log()))
        for pk, file in files.items():
            if expected[pk].status == File.Status.SUCCESS or runs[file.task_id]:
                assert 1 <= runs[file.task_id] <= b_runs_at_most, (
                    f"file {pk}: B completed task {file.task_id} {runs[file.task_id]} times"
                )
        return result
