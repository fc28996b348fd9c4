"""A file of hundreds of megabytes through B's real worker, with B's progress seen by A: on the
local directory and on S3-compatible object storage."""

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from files import selectors, services
from files.models import File
from harness.processes import ManagedProcess
from harness.stores import StoreView
from harness.tables import COLUMN_TYPES, csv_generate
from harness.waiting import wait_for
from shared_schema.payloads import PROGRESS_STATE, ProcessingProgress

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.both_stores]

LARGE_BYTES = 200 * 1024**2
FINISH_TIMEOUT_S = 240
"""Generous for a loaded 2-core machine; B processes the file in well under a minute."""


@pytest.fixture
def large_upload(store: StoreView, run_dir: Path) -> Iterator[tuple[str, int, int]]:
    """A generated CSV of at least 200 MB in the run's store; removed afterwards, with B's
    normalized copy."""
    name = f"large-{uuid.uuid4().hex}.csv"
    key = f"uploads/{name}"
    table = csv_generate(run_dir / "generated" / name, min_bytes=LARGE_BYTES)
    store.put_file(key, table.path)
    yield key, table.size_bytes, table.rows
    store.delete(key)
    for output in store.keys("outputs"):
        if Path(output).name.startswith(name):
            store.delete(output)


def test_a_200_mb_csv_is_processed_with_progress_that_a_sees_before_success(
    workers: tuple[ManagedProcess, ManagedProcess],
    large_upload: tuple[str, int, int],
    store: StoreView,
) -> None:
    key, size, rows = large_upload
    file = File.objects.create(original_name="large.csv", storage_key=key, size_bytes=size)
    started = time.monotonic()
    services.file_dispatch(file_id=file.pk)
    progress: list[ProcessingProgress] = []

    def probe() -> File | None:
        file.refresh_from_db()
        activity = selectors.file_activity(file=file)
        if activity is not None and activity.state == PROGRESS_STATE and activity.progress:
            progress.append(activity.progress)
        done = file.status in (File.Status.SUCCESS, File.Status.FAILED)
        return file if done else None

    wait_for(
        probe,
        timeout=FINISH_TIMEOUT_S,
        interval=0.2,
        what="the large file to finish",
        describe=lambda: f"file is {file.status}; B says:\n{workers[1].tail()}",
    )
    elapsed = time.monotonic() - started

    assert file.status == File.Status.SUCCESS, file.error_message
    assert progress, "A never saw B's progress before the file finished"
    assert progress[0].bytes_read > 0
    assert progress[0].bytes_total == size
    assert progress[0].bytes_read < size, "the first progress A saw was already the end"
    assert [p.rows for p in progress] == sorted(p.rows for p in progress)
    assert file.result is not None
    assert file.result["rows"] == rows
    assert file.result["size_bytes"] == size
    assert tuple(c["type"] for c in file.result["columns"]) == COLUMN_TYPES
    assert store.size(file.result["output_key"]) == size
    print(
        f"\n{size / 1024**2:.0f} MiB processed in {elapsed:.1f}s on the {store.kind} store: "
        f"{size / 1e6 / elapsed:.1f} MB/s"
    )
