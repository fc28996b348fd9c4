"""Processing speed and memory, run from System B's environment.

``python -m bench.processing SIZE_MB...`` generates the inputs, then measures each reader in a
fresh process (so one measurement's memory never inflates another's) and prints JSON:

* ``process``: System B's ``file_process`` (decode, parse, validate, hash, summarize);
* ``csv_reader``: the floor: Python's ``csv.reader`` over the same file and nothing else;
* ``sha256``: reading and hashing only.
"""

import csv
import hashlib
import json
import resource
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # harness.tables: the generator the tests use too

from harness.processes import run_json  # noqa: E402
from harness.tables import csv_generate  # noqa: E402

DATA = REPO / "var" / "bench" / "data"
MB = 1024 * 1024


def _measure(what: str, path: Path) -> dict[str, float]:
    started = time.perf_counter()
    if what == "process":
        from shared_schema.payloads import ProcessingRequest
        from system_b.processing import file_process

        file_process(
            request=ProcessingRequest(file_id="bench", storage_key=path.name),
            storage_root=path.parent,
            max_bytes=path.stat().st_size + 1,
        )
    elif what == "csv_reader":
        with path.open(newline="", encoding="utf-8") as text:
            for _ in csv.reader(text):
                pass
    elif what == "sha256":
        digest = hashlib.sha256()
        with path.open("rb") as raw:
            while chunk := raw.read(1024 * 1024):
                digest.update(chunk)
    else:
        raise ValueError(what)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "mb_per_s": path.stat().st_size / MB / seconds,
        # Linux reports ru_maxrss in KiB.
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _in_fresh_process(what: str, path: Path) -> dict[str, float]:
    result: dict[str, float] = run_json(
        [sys.executable, "-m", "bench.processing", "--measure", what, str(path)],
        cwd=REPO,
        timeout=1800,
    )
    return result


def main(argv: list[str]) -> int:
    if argv[:1] == ["--measure"]:
        print(json.dumps(_measure(argv[1], Path(argv[2]))))
        return 0
    results: dict[str, dict[str, dict[str, float]]] = {}
    for size_mb in (int(arg) for arg in argv):
        path = DATA / f"table-{size_mb}mb.csv"
        if not path.exists() or path.stat().st_size < size_mb * MB:
            csv_generate(path, min_bytes=size_mb * MB)
        results[f"{size_mb}mb"] = {
            what: _in_fresh_process(what, path) for what in ("process", "csv_reader", "sha256")
        }
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
