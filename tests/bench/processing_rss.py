"""Peak memory of System B's processing, for a small and a large file: ``make bench-rss``.

Runs ``file_process`` on a generated 1 MB and a generated 200 MB CSV, each in a fresh
subprocess of B's interpreter so neither run inherits the other's heap, and prints each run's
peak RSS (``ru_maxrss``), its throughput and ``rss_ratio=<large/small>``. Streaming means the
ratio stays near 1; the acceptance bar is 1.5. A measurement, not a test assertion.

Run with B's interpreter: ``system_b/.venv/bin/python tests/bench/processing_rss.py``.
"""

import argparse
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for harness.tables

from harness.tables import csv_generate

REPO = Path(__file__).resolve().parents[2]

CHILD = """
import json, resource, sys, time
from pathlib import Path
from shared_schema.payloads import ProcessingRequest
from system_b.processing import file_process

root, key = Path(sys.argv[1]), sys.argv[2]
wall, cpu = time.perf_counter(), time.process_time()
result = file_process(
    request=ProcessingRequest(file_id="bench", storage_key=key),
    storage_root=root,
    max_bytes=2**40,
)
print(json.dumps({
    "rows": result.rows,
    "size_bytes": result.size_bytes,
    "wall_s": time.perf_counter() - wall,
    "cpu_s": time.process_time() - cpu,
    "max_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
}))
"""


def measure(root: Path, key: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(root), key],
        check=True,
        capture_output=True,
        text=True,
        timeout=900,
    ).stdout
    measured: dict[str, float] = json.loads(out)
    return measured


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=REPO / "var" / "bench")
    parser.add_argument("--small-mb", type=float, default=1)
    parser.add_argument("--large-mb", type=float, default=200)
    args = parser.parse_args()

    root = args.dir.resolve()
    runs = {}
    for label, megabytes in (("small", args.small_mb), ("large", args.large_mb)):
        key = f"uploads/bench-{label}.csv"
        table = csv_generate(root / key, min_bytes=int(megabytes * 1024**2))
        try:
            runs[label] = run = measure(root, key)
        finally:
            (root / key).unlink(missing_ok=True)
            (root / "outputs" / f"{key}.normalized.csv").unlink(missing_ok=True)
        assert run["rows"] == table.rows, (run, table)
        print(
            f"{label}: {run['size_bytes'] / 1024**2:.1f} MiB, {run['rows']:,.0f} rows, "
            f"peak RSS {run['max_rss_kib'] / 1024:.1f} MiB, {run['wall_s']:.1f}s wall "
            f"({run['size_bytes'] / 1e6 / run['wall_s']:.1f} MB/s), {run['cpu_s']:.1f}s CPU "
            f"({run['size_bytes'] / 1e6 / run['cpu_s']:.1f} MB/s)"
        )
    print(f"rss_ratio={runs['large']['max_rss_kib'] / runs['small']['max_rss_kib']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
