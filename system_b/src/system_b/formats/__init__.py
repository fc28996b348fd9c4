"""Readers of each tabular format: a header, then batches of validated rows of text.

A reader yields rows as lists of strings, each as long as the header, ``""`` for a null. The
rest of the pipeline (type inference, the normalized output) is the same for every format.
"""

from collections.abc import Iterator
from dataclasses import dataclass

Row = list[str]


@dataclass(frozen=True)
class Table:
    header: list[str]
    batches: Iterator[list[Row]]
    """Rows in batches of a bounded size, read lazily: the file is parsed as they are taken."""
