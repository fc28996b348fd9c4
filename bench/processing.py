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
import sys
from pathlib import Path

from bench.fresh import MB, REPO, in_fresh_process, measure

sys.path.insert(0, str(REPO / "tests"))  # harness.tables: the generator the tests use too

from harness.tables import csv_generate

DATA = REPO / "var" / "bench" / "data"


def _process(path: Path) -> None:
    from shared_schema.payloads import ProcessingRequest
    from shared_schema.storage import store_open
    from system_b.processing import file_process

    file_process(
        request=ProcessingRequest(file_id="bench", storage_key=path.name),
        store=store_open(path.parent),
        max_bytes=path.stat().st_size + 1,
    )


def _csv_reader(path: Path) -> None:
    with path.open(newline="", encoding="utf-8") as text:
        for _ in csv.reader(text):
            pass


def _sha256(path: Path) -> None:
    digest = hashlib.sha256()
    with path.open("rb") as raw:
        while chunk := raw.read(1024 * 1024):
            digest.update(chunk)


READERS = {"process": _process, "csv_reader": _csv_reader, "sha256": _sha256}


def main(argv: list[str]) -> int:
    if argv[:1] == ["--measure"]:
        path = Path(argv[2])
        print(json.dumps(measure(path, lambda: READERS[argv[1]](path))))
        return 0
    results: dict[str, dict[str, dict[str, float]]] = {}
    for size_mb in (int(arg) for arg in argv):
        path = DATA / f"table-{size_mb}mb.csv"
        if not path.exists() or path.stat().st_size < size_mb * MB:
            csv_generate(path, min_bytes=size_mb * MB)
        results[f"{size_mb}mb"] = {
            what: in_fresh_process("bench.processing", what, path) for what in READERS
        }
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
