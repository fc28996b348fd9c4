"""Incremental type inference: one small profile per column, updated a batch at a time.

A column's type is the narrowest that fits every non-null value seen so far, along the chains
integer -> float -> string, date -> datetime -> string and boolean (true/false, in lower, upper
or title case) -> string. Values are text
(JSON Lines values are rendered as text first), and a null is an empty value. A number written
with a leading zero (``08123``, ``00501``) is a code, not a quantity: its column is a string.

For speed, a batch of a column's values is joined with newlines and checked with a few C-level
calls (``str.translate`` for the characters a type allows, one regular expression for dates),
then converted with ``map`` for the real test and for min and max: Python runs per batch, not
per value. A value that itself holds a newline is a string.
"""

import collections
import math
import re
from collections.abc import Sequence
from datetime import date, datetime

from shared_schema.payloads import ColumnSummary, ColumnType

_DATETIME = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    + r"(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?(?:Z|[+-][0-9]{2}:?[0-9]{2})?)?"
)
_DATETIME_LINES = re.compile(rf"(?:{_DATETIME}\n)*{_DATETIME}")
_NOT_DATE = str.maketrans("", "", "0123456789-\n")
_NOT_INTEGER = str.maketrans("", "", "0123456789+-\n")
_NOT_FLOAT = str.maketrans("", "", "0123456789+-.eE\n")
_BOOLEANS = frozenset({"true", "false", "True", "False", "TRUE", "FALSE"})
INTEGER_LIMIT = 10**18
"""Integers are whole numbers of at most 18 digits (they fit 64 bits); longer ones are floats."""

_WIDER: dict[ColumnType, tuple[ColumnType, ...]] = {
    ColumnType.EMPTY: (
        ColumnType.INTEGER,
        ColumnType.FLOAT,
        ColumnType.BOOLEAN,
        ColumnType.DATE,
        ColumnType.DATETIME,
    ),
    ColumnType.INTEGER: (ColumnType.INTEGER, ColumnType.FLOAT),
    ColumnType.FLOAT: (ColumnType.FLOAT,),
    ColumnType.BOOLEAN: (ColumnType.BOOLEAN,),
    ColumnType.DATE: (ColumnType.DATE, ColumnType.DATETIME),
    ColumnType.DATETIME: (ColumnType.DATETIME,),
    ColumnType.STRING: (),
}
_NUMERIC = (ColumnType.INTEGER, ColumnType.FLOAT)

_LEADING_ZERO = re.compile(r"(?:^|\n)[+-]?0[0-9]")

_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def text_is_number(text: str) -> bool:
    return _NUMBER.fullmatch(text.strip()) is not None


class ColumnProfile:
    """What is known about one column so far."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.type = ColumnType.EMPTY
        self.nulls = 0
        self.min: float | None = None
        self.max: float | None = None

    def add(self, values: Sequence[str]) -> None:
        # all() tests each value's truth, which is cheaper than comparing it with "".
        present = values if all(values) else list(filter(None, values))
        self.nulls += len(values) - len(present)
        if self.type is ColumnType.STRING or not present:
            return
        joined = None
        for candidate in _WIDER[self.type]:
            if candidate is ColumnType.BOOLEAN:  # a set lookup each: no need for the joined text
                if _BOOLEANS.issuperset(present):
                    self._widen(candidate)
                    return
                continue
            if joined is None:
                joined = "\n".join(present)
                if joined.count("\n") != len(present) - 1:  # a value with a newline is text
                    break
            numbers = _fit(candidate, joined, present)
            if numbers is None:
                continue
            if not numbers:  # not a number type
                self._widen(candidate)
                return
            low, high = min(numbers), max(numbers)
            if candidate is ColumnType.INTEGER and not -INTEGER_LIMIT < low <= high < INTEGER_LIMIT:
                continue  # too long for 64 bits: a float column
            self._widen(candidate)
            self.min = float(low) if self.min is None else min(self.min, float(low))
            self.max = float(high) if self.max is None else max(self.max, float(high))
            return
        self._widen(ColumnType.STRING)

    def _widen(self, to: ColumnType) -> None:
        self.type = to
        if to not in _NUMERIC:
            self.min = self.max = None

    def summary(self) -> ColumnSummary:
        def finite(x: float | None) -> float | None:
            return x if x is not None and math.isfinite(x) else None

        return ColumnSummary(
            name=self.name,
            type=self.type,
            nulls=self.nulls,
            min=finite(self.min),
            max=finite(self.max),
        )


def _fit(kind: ColumnType, joined: str, present: Sequence[str]) -> list[int] | list[float] | None:
    """``None`` unless every value in ``present`` is a ``kind``; for numbers, their values.

    Numbers are checked by their characters (one C call over the joined batch), then by
    converting them: ``int`` and ``float`` accept exactly the decimal notations left once
    spaces, underscores, letters (inf, nan) and other digits are ruled out.
    """
    try:
        if kind is ColumnType.INTEGER:
            if joined.translate(_NOT_INTEGER) or _leading_zero(joined):
                return None
            return list(map(int, present))
        if kind is ColumnType.FLOAT:
            if joined.translate(_NOT_FLOAT) or _leading_zero(joined):
                return None
            return list(map(float, present))
        if kind is ColumnType.DATE:
            if not _dates_shaped(joined, len(present)):
                return None
        elif _DATETIME_LINES.fullmatch(joined) is None:
            return None
        validate = date.fromisoformat if kind is ColumnType.DATE else datetime.fromisoformat
        # Each distinct value once: a date column repeats its values a lot.
        collections.deque(map(validate, set(present)), maxlen=0)
    except ValueError:  # "1-2", "2024-02-30": the right characters, not a value
        return None
    return []


def _leading_zero(joined: str) -> bool:
    """Whether a value of ``joined`` starts with a zero followed by another digit (``08123``,
    ``-007``, ``00.5``): a code (a postal code, an account number), whose zeros a number would
    drop. ``0``, ``0.5`` and ``-0`` are numbers. Substring tests first: one C scan each, and
    the pattern only when a value starts with a zero at all."""
    starts = joined.startswith(("0", "+0", "-0"))
    if not (starts or "\n0" in joined or "\n-0" in joined or "\n+0" in joined):
        return False
    return _LEADING_ZERO.search(joined) is not None


def _dates_shaped(joined: str, count: int) -> bool:
    """Whether ``joined`` is ``count`` lines of the form 0000-00-00, checked by position.

    Every line is ten characters exactly when the newlines fall every eleventh character;
    then the hyphens must be at 4 and 7 of each, and every other character a digit. Slicing
    and counting are C calls over the whole batch: several times faster than a pattern.
    """
    return (
        len(joined) == 11 * count - 1
        and joined[10::11] == "\n" * (count - 1)
        and joined[4::11] == joined[7::11] == "-" * count
        and joined.count("-") == 2 * count
        and not joined.translate(_NOT_DATE)
    )
