"""Readers of each tabular format: a header, then batches of validated rows of text.

A batch holds its rows column by column, each column as long as the header, ``""`` for a null:
type inference works a column at a time, and the fastest reader (plain delimited text, split in
C) produces columns directly. The rest of the pipeline (type inference, samples, the normalized
output) is the same for every format.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice

from shared_schema.errors import InvalidHeader

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


def header_names_check(names: list[str], *, line: int) -> None:
    """Refuse a header with a blank name or a name given twice (spaces around a name do not
    count: `` a`` and ``a`` look the same to a person). Renaming them would give the columns
    names nobody chose, in the summary and in the normalized output's header."""
    blank = [index for index, name in enumerate(names, start=1) if not name.strip()]
    if blank:
        which = _positions(blank)
        verb = "has" if len(blank) == 1 else "have"
        raise InvalidHeader(
            f"Line {line}: {which} {verb} no name in the header; every column needs one."
        )
    seen: dict[str, int] = {}
    for index, name in enumerate(names, start=1):
        key = name.strip()
        if key in seen:
            raise InvalidHeader(
                f"Line {line} names the column {key!r} twice (columns {seen[key]} and {index}); "
                "each column needs a name of its own."
            )
        seen[key] = index


def _positions(indexes: list[int]) -> str:
    """``column 2``, ``columns 2 and 5``, ``columns 2, 5, 7, 8, 9, ...``."""
    if len(indexes) == 1:
        return f"column {indexes[0]}"
    if len(indexes) > 5:
        return "columns " + ", ".join(map(str, indexes[:5])) + ", ..."
    return "columns " + ", ".join(map(str, indexes[:-1])) + f" and {indexes[-1]}"
