"""The structured log events of a process started with ``CROSSLINK_LOG_FORMAT=json``.

Tests find what happened by event name and fields (shared_schema.telemetry), never by a log
line's wording. Lines that are not JSON (Celery's start-up banner) are skipped.
"""

import json
from collections.abc import Iterator
from typing import Any


def log_events(text: str, event: str | None = None, **fields: Any) -> list[dict[str, Any]]:
    """Every JSON log line of ``text``, or those with this ``event`` and these field values."""
    return [
        line
        for line in _json_lines(text)
        if (event is None or line.get("event") == event)
        # Compared as text: a file id is a number in A and a string in B's payload.
        and all(str(line.get(name)) == str(value) for name, value in fields.items())
    ]


def _json_lines(text: str) -> Iterator[dict[str, Any]]:
    for raw in text.splitlines():
        line = _json_line(raw)
        if line is not None:
            yield line


def _json_line(raw: str) -> dict[str, Any] | None:
    """The JSON object ``raw`` holds, or ends with.

    A pool process killed in the middle of writing a line leaves it without its newline, and the
    next process's whole line is appended to that fragment: the event is still there, after the
    fragment, and must still count.
    """
    start = raw.find("{")
    while start != -1:
        try:
            line = json.loads(raw[start:])
        except ValueError:
            start = raw.find('{"', start + 1)
            continue
        return line if isinstance(line, dict) else None
    return None
