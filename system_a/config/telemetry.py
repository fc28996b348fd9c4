"""System A's traces, metrics and log context (docs/observability.md).

Hooked in with one line each: ``celery_setup`` from config/celery.py (every process that loads
A's Celery app: web, worker, beat), ``web_setup`` from config/wsgi.py, ``metrics_view`` in
config/urls.py. The common part is ``shared_schema.telemetry``.

* Traces: only when the OTEL_* variables ask (``shared_schema.telemetry.tracing_requested``);
  the web process instruments Django, Celery's publishing, psycopg and Redis; a worker does so
  in each pool child, after the fork.
* Metrics: the worker records into PROMETHEUS_MULTIPROC_DIR when it is set (prometheus_client's
  multiprocess mode, one file per process, prefork children included); the web server's
  ``/metrics`` serves those together with the files by state, counted in the database at scrape
  time. The directory must be shared by A's web server and A's worker, and emptied when they
  start.
"""

import os
import time
from collections.abc import Iterator, Mapping
from typing import Any

from celery import Celery
from celery.signals import worker_init, worker_process_init
from django.http import HttpRequest, HttpResponse

from shared_schema import telemetry
from shared_schema.telemetry import PUBLISHED_AT_HEADER, SENT_AT_HEADER

CALLBACKS = {
    "system_a.file_processing_succeeded": "succeeded",
    "system_a.file_processing_failed": "failed",
}
SWEEP_TASK = "system_a.file_sweep"

# Seconds: a round trip is at least a broker hop each way and B's processing; a callback's wait
# in A's queue is milliseconds unless A's worker is behind or down.
ROUND_TRIP_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 7200)
LAG_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 120, 600)


def _metrics_on() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def _metrics_dir_make() -> None:
    # prometheus_client writes one file per process there and does not create the directory.
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)


class _Metrics:
    """A's worker-side metrics, made on first use (prometheus_client reads
    PROMETHEUS_MULTIPROC_DIR when it is imported)."""

    def __init__(self) -> None:
        from prometheus_client import Counter, Histogram

        self.round_trip = Histogram(
            "crosslink_a_round_trip_seconds",
            "From A sending an attempt to A applying its outcome, by outcome.",
            ["outcome"],
            buckets=ROUND_TRIP_BUCKETS,
        )
        self.callback_lag = Histogram(
            "crosslink_a_callback_lag_seconds",
            "From B publishing a callback to A's worker starting it (its wait in A's queue).",
            ["callback"],
            buckets=LAG_BUCKETS,
        )
        self.callbacks = Counter(
            "crosslink_a_callbacks_total",
            "Callbacks run, by callback and whether they changed the file (applied=false: a "
            "duplicate, a late callback of an earlier attempt, or a wire error).",
            ["callback", "applied"],
        )
        self.sweeper_actions = Counter(
            "crosslink_a_sweeper_actions_total",
            "Files the sweeper acted on, by action (sent, succeeded, failed, timed_out, "
            "retried, unreadable).",
            ["action"],
        )


_metrics: _Metrics | None = None


def _worker_metrics() -> _Metrics:
    global _metrics
    if _metrics is None:
        _metrics = _Metrics()
    return _metrics


def _task_started(task: Any, fields: Mapping[str, Any]) -> None:
    callback = CALLBACKS.get(task.name)
    published_at = fields.get(PUBLISHED_AT_HEADER)
    if callback is not None and published_at is not None:
        lag = max(0.0, time.time() - published_at)
        _worker_metrics().callback_lag.labels(callback).observe(lag)


def _task_ended(
    task: Any, fields: Mapping[str, Any], state: str | None, retval: Any, _seconds: float
) -> None:
    metrics = _worker_metrics()
    if task.name == SWEEP_TASK and isinstance(retval, dict):
        for action, count in retval.items():
            if count:
                metrics.sweeper_actions.labels(action).inc(count)
        return
    callback = CALLBACKS.get(task.name)
    if callback is None or state != "SUCCESS":
        return
    applied = retval is True
    metrics.callbacks.labels(callback, "true" if applied else "false").inc()
    sent_at = fields.get(SENT_AT_HEADER)
    if applied and sent_at is not None:
        metrics.round_trip.labels(callback).observe(max(0.0, time.time() - sent_at))


# --- Tracing ------------------------------------------------------------------------------------


# A file's trace context outlives any one process (the sweeper may act on it hours later):
# kept in the result backend's Redis beside B's outcome, for as long as a file may wait.
FILE_TRACE_TTL_S = 7 * 24 * 3600


class _RedisTraceStore:
    def _client(self) -> Any:
        from celery import current_app

        backend: Any = current_app.backend
        return backend.client  # the result backend's Redis client

    def get(self, key: str) -> str | None:
        value = self._client().get(key)
        return value.decode() if isinstance(value, bytes) else value

    def put(self, key: str, value: str) -> None:
        self._client().set(key, value, ex=FILE_TRACE_TTL_S)


def _instrument_clients() -> None:
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor

    telemetry.celery_tracing_instrument()
    telemetry.trace_store_set(_RedisTraceStore())
    PsycopgInstrumentor().instrument(skip_dep_check=True)
    RedisInstrumentor().instrument()


def _instrument_web() -> None:
    from opentelemetry.instrumentation.django import DjangoInstrumentor

    DjangoInstrumentor().instrument()
    _instrument_clients()


def web_setup() -> None:
    """Tracing for A's web process; call before Django builds its WSGI handler (middleware)."""
    telemetry.tracing_configure(service_name="system-a-web", instrument=_instrument_web)


def _worker_tracing(**_: Any) -> None:
    telemetry.tracing_configure(service_name="system-a-worker", instrument=_instrument_clients)


def _worker_started(sender: Any = None, **_: Any) -> None:
    # A prefork worker traces in its children (worker_process_init); any other pool runs tasks
    # in this process.
    pool = getattr(sender, "pool_cls", None)
    if "prefork" not in str(getattr(pool, "__module__", pool)):
        _worker_tracing()


def celery_setup(app: Celery) -> None:
    """Log context, headers and (when configured) metrics for A's Celery app."""
    metrics = _metrics_on()
    if metrics:
        _metrics_dir_make()
    telemetry.celery_observe(
        on_task_start=_task_started if metrics else None,
        on_task_end=_task_ended if metrics else None,
    )
    worker_process_init.connect(_worker_tracing, weak=False)
    worker_init.connect(_worker_started, weak=False)


# --- /metrics -----------------------------------------------------------------------------------


class _FilesCollector:
    """Files by state, and failed files by error code, counted when scraped."""

    def collect(self) -> Iterator[Any]:
        from django.db.models import Count
        from prometheus_client.core import GaugeMetricFamily

        from files.models import File

        by_state = GaugeMetricFamily(
            "crosslink_a_files", "Files in A's database by state.", labels=["state"]
        )
        counts = dict(
            File.objects.order_by()
            .values_list("status")
            .annotate(n=Count("pk"))
            .values_list("status", "n")
        )
        for state in File.Status.values:
            by_state.add_metric([state], counts.get(state, 0))
        yield by_state
        failed = GaugeMetricFamily(
            "crosslink_a_files_failed",
            "FAILED files in A's database by error code.",
            labels=["error_code"],
        )
        for code, n in (
            File.objects.filter(status=File.Status.FAILED)
            .order_by()
            .values_list("error_code")
            .annotate(n=Count("pk"))
            .values_list("error_code", "n")
        ):
            failed.add_metric([code], n)
        yield failed


def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus' text format: A's workers' metrics (multiprocess) and the files by state."""
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

    registry = CollectorRegistry()
    if _metrics_on():
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    registry.register(_FilesCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
