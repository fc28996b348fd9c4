"""Processing peers: what a user would pick instead of crosslink to check a CSV file.

Run from the bench-only environment (bench/.venv, from bench/requirements-peers.lock), never
from a system's: ``python -m bench.peers PATH`` measures each peer on the file in a fresh process
(so one's memory never inflates another's) and prints JSON:

* ``frictionless``: ``frictionless validate``: infers a schema from a sample, then reads every
  row and checks every cell against it, with checksums and row counts, strictly like B;
* ``duckdb``: DuckDB's ``read_csv`` with its defaults, asked for the summary B returns: the row
  count, each column's type (its sniffer's), nulls, and min and max of the numeric columns. It
  uses every core by default; B uses one. With those defaults it also accepts files B refuses
  (an unterminated quote, Latin-1 text, a NUL byte): a figure for reference, not a target.
"""

import json
import os
import sys
from pathlib import Path
from typing import Any

from bench.fresh import in_fresh_process, measure

_NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE", "DECIMAL")


def _frictionless(path: Path) -> dict[str, Any]:
    from frictionless import validate

    # frictionless refuses absolute paths as unsafe unless told otherwise: run next to the file.
    os.chdir(path.parent)
    report = validate(path.name)
    stats = report.task.stats
    return {"valid": report.valid, "rows": stats.get("rows"), "columns": stats.get("fields")}


def _duckdb(path: Path) -> dict[str, Any]:
    import duckdb

    connection = duckdb.connect()
    source = "read_csv('{}')".format(str(path).replace("'", "''"))
    columns = connection.sql(f"DESCRIBE SELECT * FROM {source}").fetchall()  # noqa: S608
    parts = ["count(*)"]
    for name, kind, *_ in columns:
        quoted = '"{}"'.format(name.replace('"', '""'))
        parts.append(f"count(*) - count({quoted})")
        if kind.startswith(_NUMERIC):
            parts += [f"min({quoted})", f"max({quoted})"]
    (summary,) = connection.sql(f"SELECT {', '.join(parts)} FROM {source}").fetchall()  # noqa: S608
    return {
        "valid": True,
        "rows": summary[0],
        "columns": len(columns),
        "types": [kind for _, kind, *_ in columns],
    }


READERS = {"frictionless": _frictionless, "duckdb": _duckdb}


def main(argv: list[str]) -> int:
    if argv[:1] == ["--measure"]:
        path = Path(argv[2]).resolve()
        print(json.dumps(measure(path, lambda: READERS[argv[1]](path))))
        return 0
    path = Path(argv[0]).resolve()
    print(json.dumps({what: in_fresh_process("bench.peers", what, path) for what in READERS}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
