"""Large generated tables, written as a stream: tests and benchmarks never hold them in memory.

Standard library only, so both systems' environments (and a bare interpreter) can use it.
"""

import random
from dataclasses import dataclass
from pathlib import Path

HEADER = "id,name,score,active,joined,note\n"
COLUMN_TYPES = ("integer", "string", "float", "boolean", "date", "string")
BLOCK_ROWS = 10_000
_NAMES = ("ada", "grace", "linus", "barbara", "edsger", "margaret", "ken", "donald")


@dataclass(frozen=True)
class GeneratedTable:
    path: Path
    size_bytes: int
    rows: int


def csv_generate(path: Path, *, min_bytes: int, seed: int = 5) -> GeneratedTable:
    """Write a CSV file of at least ``min_bytes`` to ``path``: one block of rows, repeated.

    Rendering one block and writing it many times is what makes a 200 MB file take a second
    or two instead of a minute; the parser sees ordinary, varied rows either way.
    """
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    lines = []
    for i in range(BLOCK_ROWS):
        note = '"says ""hi"", twice"' if i % 97 == 0 else ("" if i % 13 == 0 else "plain note")
        lines.append(
            f"{i},{rng.choice(_NAMES)},{rng.uniform(-1000, 1000):.3f},"
            f"{'true' if i % 3 else 'false'},2024-{1 + i % 12:02d}-{1 + i % 28:02d},{note}\n"
        )
    block = "".join(lines).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        size = out.write(HEADER.encode())
        rows = 0
        while size < min_bytes:
            size += out.write(block)
            rows += BLOCK_ROWS
    return GeneratedTable(path=path, size_bytes=size, rows=rows)
