"""The store fails, on the local directory and on S3: at upload, the user hears a clear 503 and
nothing is half-stored; in the middle of B's work, B retries with backoff and the file ends
right once the store is back. A store that goes away keeps what it held (harness.stores)."""

import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from files import selectors, services
from files.models import File
from harness.files import finished
from harness.http import Reply
from harness.logs import log_events
from harness.processes import ManagedProcess
from harness.s3 import UPLOADS
from harness.stores import S3StoreView, StoreView
from harness.tables import csv_generate
from harness.waiting import wait_for
from shared_schema.errors import ErrorCode
from shared_schema.payloads import PROGRESS_STATE
from shared_schema.storage.s3 import PART_BYTES

pytestmark = pytest.mark.integration

GOOD_CSV = b"id,name,score\n1,ada,9.5\n2,grace,8.25\n"
MID_FILE_BYTES = 64 * 1024**2
"""Large enough that B is still reading when A first sees it running (STARTED, 0.1 s into the
run): B reads 20-60 MB/s on the machines this ran on (docs/benchmarks.md)."""

Api = Callable[..., Reply]


@pytest.mark.both_stores
def test_an_upload_while_the_store_is_down_is_refused_with_503_and_leaves_nothing_stored(
    api: Api, store: StoreView
) -> None:
    rows = File.objects.count()
    stored = store.keys(UPLOADS)

    with store.down():
        reply = api("POST", "/api/files/", files={"file": ("people.csv", GOOD_CSV)})

    assert reply.status == 503, reply.body
    body: dict[str, Any] = reply.json()
    assert body["code"] == ErrorCode.STORAGE_UNAVAILABLE
    assert body["detail"]
    assert "127.0.0.1" not in body["detail"], "the message names the store's address"
    assert File.objects.count() == rows
    assert store.keys(UPLOADS) == stored
    assert store.partial_writes() == []
    # The store is back: the same upload is taken.
    again = api("POST", "/api/files/", files={"file": ("people.csv", GOOD_CSV)})
    assert again.status == 201, again.body


@pytest.mark.parametrize("store", ["s3"], indirect=True, scope="session")
def test_an_upload_cut_off_while_a_stores_it_leaves_no_object_and_no_row(
    api: Api, store: StoreView
) -> None:
    """On S3 a large upload is stored part by part: the store goes away after the first part."""
    assert isinstance(store, S3StoreView)
    proxy = store.storage.proxy
    rows = File.objects.count()
    stored = store.keys(UPLOADS)
    content = b"id,name\n" + b"1,ada\n" * (3 * PART_BYTES // 6)
    start = proxy.to_server
    cut = threading.Event()

    def cut_after_the_first_part() -> None:
        deadline = time.monotonic() + 60
        while proxy.to_server - start < PART_BYTES + 1024**2 and time.monotonic() < deadline:
            time.sleep(0.005)
        proxy.refuse()
        cut.set()

    watcher = threading.Thread(target=cut_after_the_first_part, daemon=True)
    watcher.start()
    try:
        reply = api("POST", "/api/files/", files={"file": ("large.csv", content)})
    finally:
        watcher.join(timeout=70)
        proxy.accept()

    assert cut.is_set()
    assert proxy.to_server - start < len(content), "the whole file reached the store"
    assert reply.status == 503, reply.body
    assert reply.json()["code"] == ErrorCode.STORAGE_UNAVAILABLE
    assert File.objects.count() == rows
    assert store.keys(UPLOADS) == stored, "part of the upload became an object"


def _running(file: File) -> bool:
    """Whether A sees B working on ``file``: STARTED, or progress short of the end."""
    file.refresh_from_db()
    assert file.status == File.Status.PROCESSING, (
        f"file is {file.status} before A saw B working: a larger MID_FILE_BYTES is needed"
    )
    activity = selectors.file_activity(file=file)
    if activity is None:
        return False
    if activity.state == PROGRESS_STATE and activity.progress is not None:
        return activity.progress.bytes_read < activity.progress.bytes_total
    return activity.state == "STARTED"


@pytest.mark.both_stores
def test_a_store_that_goes_away_while_b_works_on_a_file_is_retried_and_the_file_ends_success(
    workers: tuple[ManagedProcess, ManagedProcess], store: StoreView, run_dir: Path
) -> None:
    worker_b = workers[1]
    name = f"mid-file-{uuid.uuid4().hex}.csv"
    key = f"{UPLOADS}/{name}"
    table = csv_generate(run_dir / "generated" / name, min_bytes=MID_FILE_BYTES)
    store.put_file(key, table.path)
    file = File.objects.create(original_name=name, storage_key=key, size_bytes=table.size_bytes)
    services.file_dispatch(file_id=file.pk)
    file.refresh_from_db()

    # A sees B running, short of the end: B is in the middle of the file.
    wait_for(
        lambda: _running(file),
        timeout=60,
        interval=0.02,
        what="B to be working on the file",
        describe=worker_b.tail,
    )
    with store.down(keep_reads=True):
        retried = wait_for(
            lambda: log_events(worker_b.log(), "task.retried", celery_task_id=file.task_id),
            timeout=60,
            what="B to retry the file while the store is down",
            describe=worker_b.tail,
        )
    file = finished(file, workers)

    assert retried
    assert file.status == File.Status.SUCCESS, f"{file.error_code}: {file.error_message}"
    assert file.attempts == 1, "B's own retry is not a new attempt of A's"
    assert file.result is not None
    assert file.result["rows"] == table.rows
    assert file.result["size_bytes"] == table.size_bytes
    assert store.size(file.result["output_key"]) == table.size_bytes
    failures = log_events(worker_b.log(), "task.failed", celery_task_id=file.task_id)
    assert not failures, "B gave up on the file"
