"""Readers of each tabular format: a header, then batches of validated rows of text.

A batch holds its rows column by column, each column as long as the header, ``""`` for a null:
type inference works a column at a time, and the fastest reader (plain delimited text, split in
C) produces columns directly. The rest of the pipeline (type inference, samples, the normalized
output) is the same for every format.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice

Row = list[str]
Column = list[str]


@dataclass(frozen=True, slots=True)
class Batch:
    columns: list[Column]
    """One list per header column, all of the same length: the batch's rows, transposed."""

    @classmethod
    def of_rows(cls, rows: list[Row], *, width: int) -> "Batch":
        """The batch of ``rows``, each exactly ``width`` long (the readers check that)."""
        if not rows:
            return cls([[] for _ in range(width)])
        return cls(list(map(list, zip(*rows, strict=True))))

    def __len__(self) -> int:
        return len(self.columns[0]) if self.columns else 0

    def rows(self, limit: int | None = None) -> Iterator[tuple[str, ...]]:
        """The rows, in file order (the first ``limit`` of them, if given)."""
        return islice(zip(*self.columns, strict=True), limit)


@dataclass(frozen=True)
class Table:
    header: list[str]
    batches: Iterator[Batch]
    """Rows in batches of a bounded size, read lazily: the file is parsed as they are taken."""
