"""System B's memory on S3-compatible object storage, run from System B's environment.

``python -m bench.s3_memory SIZE_MB...`` starts moto's standalone S3 server (from the bench-only
environment, bench/.venv) on a spare port, stores the generated tables of ``bench.processing``
in a bucket, then runs ``file_process`` over each in a fresh process against that bucket (an
``s3://`` store, as ``CROSSLINK_STORAGE_ROOT`` would name it) and prints JSON: the same
measurement as ``bench.processing``'s ``process``, for two forms of each table:

* ``linked``: the table as generated, already in normalized form: B streams it in and the store
  makes the output with a server-side copy;
* ``rewritten``: the same table behind a UTF-8 byte order mark: B streams it in and writes the
  output itself, as a multipart upload.

The peak RSS is that of the processing alone, on top of everything the process holds once its
store is ready: importing boto3 and making its client peak higher than processing a file
(measured here: about 84 MB against 62 MB resident afterwards), which would hide any growth
with the file's size. So the code is loaded and the client made first, then Linux's high-water
mark is reset (``/proc/self/clear_refs``), and the peak read after the file is processed.

The server is stopped when the measurements end, whatever happens.
"""

import json
import os
import sys
import tempfile
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from bench.fresh import MB, REPO, in_fresh_process, measure
from bench.stats import ratio

sys.path.insert(0, str(REPO / "tests"))  # the harness: tables, processes, ports

from harness.ports import free_port
from harness.processes import B_BIN, ManagedProcess, run_json
from harness.tables import csv_generate

DATA = REPO / "var" / "bench" / "data"
MOTO_SERVER = REPO / "bench" / ".venv" / "bin" / "moto_server"
BUCKET = "crosslink-bench"
BOM = b"\xef\xbb\xbf"
FORMS = ("linked", "rewritten")


def rss_results(*, big_mb: int) -> dict[str, Any]:
    """For ``make bench`` (from any environment): the measurements, and the ratio of the large
    table's peak RSS to the 1 MB table's, for each form and the worse of the two."""
    measured: dict[str, Any] = run_json(
        [str(B_BIN / "python"), "-m", "bench.s3_memory", "1", str(big_mb)],
        cwd=REPO,
        timeout=3600,
    )
    big, small = measured[f"{big_mb}mb"], measured["1mb"]
    ratios = {form: ratio(big[form]["peak_rss_mb"], small[form]["peak_rss_mb"]) for form in FORMS}
    return {
        "processing_s3": measured,
        "rss_ratio_s3_by_form": ratios,
        "rss_ratio_s3": max(ratios.values()),
    }


def _location() -> str:
    return f"s3://{BUCKET}/{os.environ['CROSSLINK_BENCH_S3_PREFIX']}"


def _key(path: Path, form: str) -> str:
    return f"uploads/{form}/{path.name}"


def _measure(path: Path, form: str) -> dict[str, Any]:
    from shared_schema.payloads import ProcessingRequest
    from shared_schema.storage import store_open
    from shared_schema.storage.s3 import S3Store
    from system_b.processing import file_process

    store = store_open(_location())
    assert isinstance(store, S3Store)
    store._client()  # as a worker's pool process does when it starts (system_b/store.py)
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak: proc(5), clear_refs

    def process() -> None:
        file_process(
            request=ProcessingRequest(file_id="bench", storage_key=_key(path, form)),
            store=store,
            max_bytes=path.stat().st_size + len(BOM) + 1,
        )

    return {**measure(path, process), "peak_rss_mb": _peak_rss_kib() / 1024}


def _peak_rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


def _store_tables(paths: list[Path]) -> None:
    import boto3

    from shared_schema.storage import store_open, store_save

    boto3.client("s3").create_bucket(Bucket=BUCKET)
    store = store_open(_location())
    for path in paths:
        with path.open("rb") as table:
            store_save(store, key=_key(path, "linked"), stream=table)
        with store.write_atomic(_key(path, "rewritten")) as out, path.open("rb") as table:
            out.write(BOM)
            while chunk := table.read(MB):
                out.write(chunk)


def _moto(stack: ExitStack, port: int) -> ManagedProcess:
    log = Path(tempfile.gettempdir()) / f"crosslink-bench-moto-{port}.log"
    server = ManagedProcess(
        name="moto S3 server",
        argv=[str(MOTO_SERVER), "--host", "127.0.0.1", "--port", str(port)],
        cwd=REPO,
        env=os.environ,
        log_path=log,
        ready_marker="Running on",
    )
    stack.callback(log.unlink, missing_ok=True)
    stack.callback(server.stop)
    return server.start()


def main(argv: list[str]) -> int:
    if argv[:1] == ["--measure"]:
        form, path = argv[1], Path(argv[2])
        print(json.dumps(_measure(path, form)))
        return 0
    port = free_port()
    os.environ.update(
        {
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench-secret",
            "AWS_DEFAULT_REGION": "us-east-1",
            "CROSSLINK_BENCH_S3_PREFIX": uuid.uuid4().hex[:8],
        }
    )
    paths = []
    for size_mb in (int(arg) for arg in argv):
        path = DATA / f"table-{size_mb}mb.csv"
        if not path.exists() or path.stat().st_size < size_mb * MB:
            csv_generate(path, min_bytes=size_mb * MB)
        paths.append(path)
    results: dict[str, dict[str, object]] = {}
    with ExitStack() as stack:
        _moto(stack, port)
        _store_tables(paths)
        for path in paths:
            results[path.stem.removeprefix("table-")] = {
                form: in_fresh_process("bench.s3_memory", form, path) for form in FORMS
            }
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
