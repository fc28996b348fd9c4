"""System B's settings, read once from the environment.

The variable names are the project's one configuration vocabulary: System A, the compose file,
the Makefile, CI and the tests use the same ones. Defaults point at services on localhost.
"""

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from shared_schema.storage import store_is_s3


# One rule, the same as System A's readers (system_a/config/env.py): unset or empty means the
# default. Compose passes an unset ``${VAR:-}`` on as an empty string.
def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("true", "1", "yes", "on"):
        return True
    if raw in ("false", "0", "no", "off"):
        return False
    raise ValueError(f"{name} must be true or false, got {raw!r}")


def _env_str(name: str, default: str) -> str:
    return os.environ.get(name, "").strip() or default


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    try:
        return int(raw) if raw.strip() else default
    except ValueError:
        raise ValueError(f"{name} must be a whole number, got {raw!r}") from None


def _env_choice(name: str, choices: tuple[str, ...], default: str) -> str:
    value = os.environ.get(name, "").strip().lower() or default
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def _storage_root(value: str) -> str:
    # A directory is made absolute once, here: the worker's working directory is no part of it.
    return value if store_is_s3(value) else str(Path(value).resolve())


@dataclass(frozen=True, kw_only=True)
class Settings:
    broker_url: str
    result_backend: str
    storage_root: str
    """Where stored files live (``shared_schema.storage.store_open``): a directory, absolute,
    or ``s3://bucket/prefix`` for S3-compatible object storage."""
    max_file_bytes: int
    """Largest file B reads, stored or, for gzip, uncompressed; larger fails FILE_TOO_LARGE."""
    max_columns: int
    """More columns than this fails TOO_MANY_COLUMNS: a bound on the memory one row takes."""
    max_line_bytes: int
    """Longest line B holds in memory; a longer one fails UNSUPPORTED_FORMAT."""
    max_gzip_ratio: int
    """How many times its compressed size a gzip file may inflate to (once past 4 MiB of text);
    more fails FILE_TOO_LARGE within seconds: a bound on a decompression bomb's work."""
    soft_time_limit: int
    """Seconds before ``SoftTimeLimitExceeded`` turns into a PROCESSING_TIMEOUT failure."""
    hard_time_limit: int
    """Seconds before the pool kills the child outright; the backstop for a stuck task."""
    task_events: bool
    """Send task events, for a monitor such as Flower; off unless one runs (see celery_app)."""
    log_format: str
    """``json`` (one object a line) or ``text``; applied by shared_schema.telemetry."""
    metrics_port: int | None
    """Where the worker serves Prometheus metrics (system_b.telemetry); none when unset."""

    @classmethod
    def from_env(cls) -> "Settings":
        soft = _env_int("CROSSLINK_SOFT_TIME_LIMIT", 30 * 60)
        hard = _env_int("CROSSLINK_HARD_TIME_LIMIT", soft + 60)
        if hard <= soft:
            raise ValueError("CROSSLINK_HARD_TIME_LIMIT must be greater than the soft limit")
        return cls(
            broker_url=_env_str("CELERY_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//"),
            result_backend=_env_str("CELERY_RESULT_BACKEND", "redis://127.0.0.1:6379/0"),
            storage_root=_storage_root(
                _env_str(
                    "CROSSLINK_STORAGE_ROOT",
                    os.path.join(tempfile.gettempdir(), "crosslink-storage"),
                )
            ),
            max_file_bytes=_env_int("CROSSLINK_MAX_FILE_BYTES", 2 * 1024**3),
            max_columns=_env_int("CROSSLINK_MAX_COLUMNS", 1000),
            max_line_bytes=_env_int("CROSSLINK_MAX_LINE_BYTES", 1024**2),
            max_gzip_ratio=_env_int("CROSSLINK_MAX_GZIP_RATIO", 100),
            soft_time_limit=soft,
            hard_time_limit=hard,
            task_events=_env_bool("CROSSLINK_TASK_EVENTS", False),
            log_format=_env_choice("CROSSLINK_LOG_FORMAT", ("text", "json"), "text"),
            metrics_port=_env_int("CROSSLINK_METRICS_PORT", 0) or None,
        )


settings = Settings.from_env()
