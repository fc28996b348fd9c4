"""One way to write numbers, counts and times on every page: "1,500,000 rows", "1 row"."""

from datetime import timedelta
from typing import Any

from django import template

register = template.Library()


@register.filter
def number(value: Any) -> str:
    """An integer with thousands separators; anything else as it is."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "" if value is None else str(value)
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.6g}" if abs(value) >= 1e6 else f"{value:,}"
    return f"{int(value):,}"


@register.filter
def count(value: Any, noun: str) -> str:
    """``value`` and ``noun``, plural unless there is exactly one: "1 row", "2,000 rows"."""
    try:
        n = int(value)
    except (TypeError, ValueError):
        n = 0
    return f"{n:,} {noun if n == 1 else noun + 's'}"


@register.filter
def duration(value: timedelta | None) -> str:
    """A short duration: "850 ms", "4.2 s", "3 min 5 s"; empty when unknown."""
    if value is None:
        return ""
    seconds = value.total_seconds()
    if seconds < 1:
        return f"{max(seconds, 0) * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {rest} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


@register.filter
def beyond(value: int, shown: int) -> int:
    """How many of ``value`` items are left after the first ``shown``: the "+N more"."""
    return max(0, int(value) - int(shown))
