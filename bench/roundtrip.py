"""Round trip and burst throughput: crosslink against the bare and durable baselines, in one
process.

Runs in System A's environment after Django is set up on a throwaway database. Every side is
timed the same way: the clock starts just before the publish and stops when the callback's
effect is visible to this process (A's database row for crosslink, a Redis key for the bare
baseline, a PostgreSQL row for the durable baseline), polled at the same interval.
"""

import random
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psycopg
import redis
from celery import Celery, signature
from django.core.files.uploadedfile import SimpleUploadedFile

from files import services
from files.models import File
from files.storage import storage_save_upload
from harness.waiting import wait_for

sys.path.insert(0, str(Path(__file__).resolve().parent / "durable"))
# The durable apps' own module, from their directory (where Celery finds it for them).
from durable_wire import (
    CALLER_QUEUE,
    DONE_TASK,
    REMOTE_QUEUE,
    TABLE,
    WORK_TASK,
    durable_settings,
)

TINY_CSV = b"id,name\n1,ada\n2,grace\n"
POLL_S = 0.002
ONE_TIMEOUT_S = 60.0


def _seen(probe: Callable[[], bool], *, what: str) -> None:
    """Wait until ``probe`` sees the callback's effect, polled every POLL_S from a random
    phase. From a fixed one (polls at the send's return plus whole intervals), a side whose
    round trip is steady lands its effect at the same point between polls every time, and its
    figure gains a fixed share of the interval that another side's does not: up to 2 ms of
    round trips of 3 to 10."""
    time.sleep(random.uniform(0, POLL_S))  # noqa: S311 - a phase, not a secret
    wait_for(probe, timeout=ONE_TIMEOUT_S, what=what, interval=POLL_S)


@dataclass
class Crosslink:
    storage_root: Path
    database_url: str

    def __post_init__(self) -> None:
        # The row is polled as the durable baseline's is: one SELECT by primary key on a
        # connection of its own. Through the ORM each poll costs several times the CPU, taken
        # from the workers being measured on a machine of few cores.
        self.db = psycopg.connect(self.database_url, autocommit=True)

    def _stored_file(self, name: str) -> File:
        upload = SimpleUploadedFile(name, TINY_CSV)
        key = storage_save_upload(upload=upload, root=self.storage_root)
        return File.objects.create(original_name=name, storage_key=key, size_bytes=len(TINY_CSV))

    def _succeeded(self, file_id: int) -> bool:
        row = self.db.execute(
            f"SELECT status FROM {File._meta.db_table} WHERE id = %s",  # noqa: S608
            (file_id,),
        ).fetchone()
        return bool(row and row[0] == File.Status.SUCCESS)

    def one(self) -> float:
        """Seconds from A's dispatch to the SUCCESS row being visible."""
        file = self._stored_file("tiny.csv")
        started = time.perf_counter()
        services.file_dispatch(file_id=file.pk)
        _seen(lambda: self._succeeded(file.pk), what=f"file {file.pk}")
        return time.perf_counter() - started

    def burst(self, count: int, *, timeout: float) -> float:
        """Seconds from the first of ``count`` uploads to all of them being SUCCESS."""
        started = time.perf_counter()
        ids = [
            services.file_create(upload=SimpleUploadedFile(f"burst-{i}.csv", TINY_CSV)).pk
            for i in range(count)
        ]
        done = File.objects.filter(pk__in=ids, status=File.Status.SUCCESS)
        failed = File.objects.filter(pk__in=ids, status=File.Status.FAILED)
        wait_for(lambda: done.count() == count, timeout=timeout, what="the burst", interval=0.05)
        elapsed = time.perf_counter() - started
        if failed.exists():  # pragma: no cover - a benchmark of failures measures nothing
            raise RuntimeError("files failed during the burst")
        return elapsed

    def close(self) -> None:
        self.db.close()


@dataclass
class Bare:
    broker_url: str
    backend_url: str

    def __post_init__(self) -> None:
        # Not the current app: System A's app stays the one its services publish with.
        self.app = Celery(
            "bare_sender", broker=self.broker_url, backend=self.backend_url, set_as_current=False
        )
        self.app.conf.update(accept_content=["json"], task_serializer="json")
        self.redis = redis.Redis.from_url(self.backend_url)

    def _send(self, *, key: str, counter: str) -> None:
        self.app.send_task(
            "bare.echo",
            args=[{"file_id": key, "storage_key": "uploads/tiny.csv"}],
            queue="bare.remote",
            link=signature(
                "bare.done",
                kwargs={"key": key, "counter": counter},
                queue="bare.caller",
                app=self.app,
            ),
        )

    def one(self) -> float:
        key = f"bench:{uuid.uuid4().hex}"
        started = time.perf_counter()
        self._send(key=key, counter=f"{key}:n")
        _seen(lambda: bool(self.redis.exists(key)), what=key)
        return time.perf_counter() - started

    def burst(self, count: int, *, timeout: float) -> float:
        counter = f"bench:{uuid.uuid4().hex}:n"
        started = time.perf_counter()
        for i in range(count):
            self._send(key=f"{counter}:{i}", counter=counter)
        wait_for(
            lambda: int(self.redis.get(counter) or 0) >= count,
            timeout=timeout,
            what="the bare burst",
            interval=0.05,
        )
        return time.perf_counter() - started


@dataclass
class Durable:
    """Two bare Celery apps (bench/durable/) with crosslink's guarantees: quorum queues,
    publisher confirms, persistent messages, late acks, the Redis backend, and a callback that
    marks a PostgreSQL row done with one UPDATE. The row is inserted before the clock starts,
    as crosslink's File row is; in the burst, inside it, as crosslink's uploads are."""

    broker_url: str
    backend_url: str
    database_url: str

    def __post_init__(self) -> None:
        self.app = Celery("durable_sender", set_as_current=False)
        self.app.conf.update(
            durable_settings(
                broker_url=self.broker_url,
                backend_url=self.backend_url,
                default_queue=REMOTE_QUEUE,
            )
        )
        self.db = psycopg.connect(self.database_url, autocommit=True)
        self.db.execute(
            f"CREATE TABLE IF NOT EXISTS {TABLE} (key text PRIMARY KEY, done boolean NOT NULL)"
        )

    def _insert(self, key: str) -> None:
        self.db.execute(f"INSERT INTO {TABLE} (key, done) VALUES (%s, false)", (key,))  # noqa: S608

    def _send(self, key: str) -> None:
        self.app.send_task(
            WORK_TASK,
            args=[{"file_id": key, "storage_key": "uploads/tiny.csv"}],
            queue=REMOTE_QUEUE,
            link=signature(DONE_TASK, kwargs={"key": key}, queue=CALLER_QUEUE, app=self.app),
        )

    def _done(self, key: str) -> bool:
        row = self.db.execute(f"SELECT done FROM {TABLE} WHERE key = %s", (key,)).fetchone()  # noqa: S608
        return bool(row and row[0])

    def one(self) -> float:
        key = uuid.uuid4().hex
        self._insert(key)
        started = time.perf_counter()
        self._send(key)
        _seen(lambda: self._done(key), what=key)
        return time.perf_counter() - started

    def burst(self, count: int, *, timeout: float) -> float:
        prefix = uuid.uuid4().hex
        started = time.perf_counter()
        for i in range(count):
            self._insert(f"{prefix}:{i}")
            self._send(f"{prefix}:{i}")

        def finished() -> bool:
            row = self.db.execute(
                f"SELECT count(*) FROM {TABLE} WHERE key LIKE %s AND done",  # noqa: S608
                (f"{prefix}:%",),
            ).fetchone()
            return bool(row and row[0] >= count)

        wait_for(finished, timeout=timeout, what="the durable burst", interval=0.05)
        return time.perf_counter() - started

    def close(self) -> None:
        self.db.close()
