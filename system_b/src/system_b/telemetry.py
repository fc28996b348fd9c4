"""System B's traces, metrics and log context (docs/observability.md).

Hooked in with one line from ``celery_app``; the common part is ``shared_schema.telemetry``.

* Traces: only when the OTEL_* variables ask; each prefork child sets up its own tracer provider
  after the fork and instruments Celery and Redis. The run span of ``remote.processing`` is the
  child of A's send, and the callback B publishes carries it on to A.
* Metrics: when CROSSLINK_METRICS_PORT is set, the worker's main process serves Prometheus' text
  format on that port, gathered from every pool child through PROMETHEUS_MULTIPROC_DIR (a fresh
  temporary directory when unset).
"""

import os
import shutil
import tempfile
from collections.abc import Mapping
from typing import Any

from celery.signals import task_failure, worker_init, worker_process_init, worker_shutdown

from shared_schema import telemetry
from shared_schema.errors import ErrorCode
from shared_schema.names import PROCESS_TASK
from system_b.settings import settings

INTERNAL_ERROR = ErrorCode.INTERNAL_ERROR.value
# Seconds a file takes in B: from a few milliseconds (a small CSV) to the soft time limit.
PROCESSING_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800)


def _metrics_port() -> int | None:
    return settings.metrics_port


class _Metrics:
    def __init__(self) -> None:
        from prometheus_client import Counter, Histogram

        self.seconds = Histogram(
            "crosslink_b_processing_seconds",
            "Time B's remote.processing took, by outcome (success, failure, retry).",
            ["outcome"],
            buckets=PROCESSING_BUCKETS,
        )
        self.bytes = Counter(
            "crosslink_b_processed_bytes_total", "Bytes of files B processed successfully."
        )
        self.failures = Counter(
            "crosslink_b_failures_total",
            "Files B failed, by the contract's error code (internal_error: outside it).",
            ["error_code"],
        )


_metrics: _Metrics | None = None


def _worker_metrics() -> _Metrics:
    global _metrics
    if _metrics is None:
        _metrics = _Metrics()
    return _metrics


def _task_ended(
    task: Any, _fields: Mapping[str, Any], state: str | None, retval: Any, seconds: float
) -> None:
    if task.name != PROCESS_TASK:
        return
    metrics = _worker_metrics()
    outcome = {"SUCCESS": "success", "FAILURE": "failure"}.get(state or "", "retry")
    metrics.seconds.labels(outcome).observe(seconds)
    if outcome == "success" and isinstance(retval, dict):
        metrics.bytes.inc(int(retval.get("size_bytes") or 0))


def _task_failed(sender: Any = None, exception: BaseException | None = None, **_: Any) -> None:
    if getattr(sender, "name", None) != PROCESS_TASK:
        return
    code = getattr(exception, "code", None)
    label = str(getattr(code, "value", code)) if code is not None else INTERNAL_ERROR
    _worker_metrics().failures.labels(label).inc()


_multiproc_dir_made: str | None = None


def _metrics_serve(port: int) -> None:
    """Serve every process's metrics from the main process, before the pool forks."""
    global _multiproc_dir_made
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        _multiproc_dir_made = tempfile.mkdtemp(prefix="crosslink-b-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = _multiproc_dir_made
    from prometheus_client import CollectorRegistry, multiprocess, start_http_server

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    start_http_server(port, registry=registry)


def _worker_started(sender: Any = None, **_: Any) -> None:
    port = _metrics_port()
    if port is not None:
        _metrics_serve(port)
    pool = getattr(sender, "pool_cls", None)
    if "prefork" not in str(getattr(pool, "__module__", pool)):
        _worker_tracing()


def _worker_stopped(**_: Any) -> None:
    if _multiproc_dir_made is not None:
        shutil.rmtree(_multiproc_dir_made, ignore_errors=True)


def _instrument() -> None:
    from opentelemetry.instrumentation.redis import RedisInstrumentor

    telemetry.celery_tracing_instrument()
    RedisInstrumentor().instrument()


def _worker_tracing(**_: Any) -> None:
    telemetry.tracing_configure(service_name="system-b-worker", instrument=_instrument)


def celery_setup() -> None:
    """Log context, headers, traces and metrics for B's Celery app."""
    metrics = _metrics_port() is not None
    telemetry.celery_observe(on_task_end=_task_ended if metrics else None)
    if metrics:
        task_failure.connect(_task_failed, weak=False)
    worker_init.connect(_worker_started, weak=False)
    worker_process_init.connect(_worker_tracing, weak=False)
    worker_shutdown.connect(_worker_stopped, weak=False)
