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
        and all(line.get(name) == value for name, value in fields.items())
    ]


def _json_lines(text: str) -> Iterator[dict[str, Any]]:
    for raw in text.splitlines():
        if not raw.startswith("{"):
            continue
        try:
            line = json.loads(raw)
        except ValueError:
            continue
        if isinstance(line, dict):
            yield line
