"""Seeing what happens, the part both systems share (docs/observability.md).

* **Log context.** ``log_context(file_id=, task_id=, attempt=)`` binds the file an operation is
  about; every log line written meanwhile carries those fields (``LogContextFilter``), and so
  does every Celery message published meanwhile (``crosslink_*`` headers, see ``celery_observe``),
  so that B's task, and the callback B publishes, log and report the same file.
* **Log lines.** JSON lines when ``CROSSLINK_LOG_FORMAT=json`` (python-json-logger), else the
  usual text with the context appended.
* **Traces.** OpenTelemetry, configured only from the standard ``OTEL_*`` variables and only
  when they name an exporter or an endpoint: with none set, no SDK is imported or set up.

Needs the ``telemetry`` extra (python-json-logger; OpenTelemetry only when tracing is on) and
Celery for ``celery_observe``. ``import shared_schema`` imports none of this.
"""

import contextlib
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from types import MappingProxyType
from typing import Any, Protocol

from shared_schema.names import PROCESS_TASK

CONTEXT_FIELDS = ("file_id", "task_id", "attempt")
"""The file an operation is about: its id, its current attempt's task id (B's task id, the key
both systems share) and that attempt's number."""

HEADER_PREFIX = "crosslink_"
SENT_AT_HEADER = "crosslink_sent_at"
"""When A sent the attempt (epoch seconds); B copies it onto the callback it publishes."""
PUBLISHED_AT_HEADER = "crosslink_published_at"
"""When this message was published (epoch seconds): the callback's wait in A's queue."""

_context: ContextVar[Mapping[str, Any]] = ContextVar(
    "crosslink_log_context", default=MappingProxyType({})
)
_tracing = False


# --- Log context ------------------------------------------------------------------------------


def log_context_get() -> Mapping[str, Any]:
    return _context.get()


@contextlib.contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Bind ``fields`` (None values are left out) for the log lines and messages within."""
    token = _context.set({**_context.get(), **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _context.reset(token)


# --- Log lines --------------------------------------------------------------------------------

# Celery's own task log lines (celery.app.trace), named as events so a reader (or a test) can
# find them without matching their wording.
_CELERY_EVENTS = {
    "LOG_RECEIVED": "task.received",
    "LOG_SUCCESS": "task.succeeded",
    "LOG_FAILURE": "task.failed",
    "LOG_INTERNAL_ERROR": "task.internal_error",
    "LOG_IGNORED": "task.ignored",
    "LOG_REJECTED": "task.rejected",
    "LOG_RETRY": "task.retried",
}
_celery_messages: dict[str, str] | None = None


def _celery_event(msg: object) -> str | None:
    global _celery_messages
    if _celery_messages is None:
        try:
            from celery.app import trace as celery_trace
        except ImportError:  # a process without Celery
            _celery_messages = {}
        else:
            _celery_messages = {
                getattr(celery_trace, name): event for name, event in _CELERY_EVENTS.items()
            }
    return _celery_messages.get(msg) if isinstance(msg, str) else None


def _current_celery_task() -> tuple[str | None, str | None]:
    celery_state = sys.modules.get("celery._state")
    task = celery_state.get_current_task() if celery_state is not None else None
    if task is None or task.request is None or task.request.id is None:
        return None, None
    return task.request.id, task.name


class LogContextFilter(logging.Filter):
    """Adds the bound file fields, the trace and span ids, the running Celery task and, for
    Celery's own task lines, an ``event`` name, to every record it sees. Never drops one."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in _context.get().items():
            if getattr(record, name, None) is None:
                setattr(record, name, value)
        if _tracing and getattr(record, "trace_id", None) is None:
            from opentelemetry import trace

            span_context = trace.get_current_span().get_span_context()
            if span_context.is_valid:
                record.trace_id = format(span_context.trace_id, "032x")
                record.span_id = format(span_context.span_id, "016x")
        event = _celery_event(record.msg)
        if event is not None and isinstance(record.args, Mapping):
            record.event = getattr(record, "event", None) or event
            record.celery_task_id = record.args.get("id")
            record.celery_task_name = record.args.get("name")
        elif getattr(record, "celery_task_id", None) is None:
            record.celery_task_id, record.celery_task_name = _current_celery_task()
        return True


_TEXT_FIELDS = ("event", "file_id", "task_id", "attempt", "trace_id")


class ContextTextFormatter(logging.Formatter):
    """Another formatter's line, followed by the context fields it has: ``[file_id=3 ...]``."""

    def __init__(self, inner: logging.Formatter | None = None) -> None:
        super().__init__()
        self.inner = inner or logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = self.inner.format(record)
        fields = [
            f"{name}={value}"
            for name in _TEXT_FIELDS
            if (value := getattr(record, name, None)) is not None
        ]
        if not fields:
            return line
        first, newline, rest = line.partition("\n")
        return f"{first} [{' '.join(fields)}]{newline}{rest}"


def json_formatter() -> logging.Formatter:
    """One JSON object a line: time (UTC), level, logger, process, message, then every field."""
    from pythonjsonlogger.json import JsonFormatter

    class _Formatter(JsonFormatter):
        def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
            # Fields that do not apply are left out rather than written as null.
            return {key: value for key, value in log_data.items() if value is not None}

    return _Formatter(
        "%(levelname)s %(name)s %(processName)s %(message)s",
        rename_fields={"levelname": "level", "name": "logger", "processName": "process"},
        timestamp="time",
        # Celery's "received" line carries its whole context as ``data``; the fields above
        # already name the task, and its arguments may be large.
        reserved_attrs=[*logging.LogRecord("", 0, "", 0, "", (), None).__dict__, "data"],
    )


def log_format() -> str:
    """``json`` or ``text``, from CROSSLINK_LOG_FORMAT (text unless it says json)."""
    value = os.environ.get("CROSSLINK_LOG_FORMAT", "").strip().lower() or "text"
    if value not in ("json", "text"):
        raise ValueError(f"CROSSLINK_LOG_FORMAT must be json or text, got {value!r}")
    return value


def log_formatter(inner: logging.Formatter | None = None) -> logging.Formatter:
    """The formatter CROSSLINK_LOG_FORMAT asks for; text wraps ``inner`` (the usual format)."""
    return json_formatter() if log_format() == "json" else ContextTextFormatter(inner)


def log_handler_install(handler: logging.Handler) -> None:
    """Give ``handler`` the context filter and the configured format, once."""
    if getattr(handler, "_crosslink_observed", False):
        return
    handler.addFilter(LogContextFilter())
    handler.setFormatter(log_formatter(handler.formatter))
    handler._crosslink_observed = True  # type: ignore[attr-defined]


# --- Traces -----------------------------------------------------------------------------------


def tracing_requested(environ: Mapping[str, str] = os.environ) -> bool:
    """Tracing is on when OTEL_TRACES_EXPORTER names an exporter (not ``none``), or an OTLP
    endpoint is set, and OTEL_SDK_DISABLED is not true. Unlike the SDK's own default (otlp),
    nothing set means off: a learning project must run without a collector."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporters = environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporters:
        return exporters != "none"
    return bool(
        environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def tracing_enabled() -> bool:
    return _tracing


def tracing_configure(*, service_name: str, instrument: Callable[[], None]) -> bool:
    """Set up this process's tracer provider from the OTEL_* variables and run ``instrument``
    (the system's instrumentors), once per process; nothing at all when tracing is off.

    Call it in the process that runs the work: a prefork pool's child (worker_process_init),
    not the parent, whose exporter thread would not survive the fork.
    """
    global _tracing
    if _tracing or not tracing_requested():
        return _tracing
    from opentelemetry import trace
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    # OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win over the system's default name.
    name = os.environ.get("OTEL_SERVICE_NAME") or service_name
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: name}))
    names = os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower() or "otlp"
    for exporter in (n.strip() for n in names.split(",") if n.strip()):
        # The sampler (OTEL_TRACES_SAMPLER), batching (OTEL_BSP_*) and the OTLP endpoint,
        # headers and timeout (OTEL_EXPORTER_OTLP_*) are read by the SDK itself.
        provider.add_span_processor(BatchSpanProcessor(_span_exporter(exporter)))
    trace.set_tracer_provider(provider)
    _tracing = True
    instrument()
    return True


def _span_exporter(name: str) -> Any:
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    if name == "otlp":
        protocol = (
            os.environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
            or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
            or "http/protobuf"
        )
        if protocol != "http/protobuf":
            raise ValueError(f"Only OTLP over http/protobuf is installed, not {protocol!r}.")
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()
    raise ValueError(f"OTEL_TRACES_EXPORTER: unknown exporter {name!r} (otlp, console, none)")


def tracing_flush() -> None:
    if _tracing:
        from opentelemetry import trace

        provider = trace.get_tracer_provider()
        flush = getattr(provider, "force_flush", None)
        if flush is not None:
            flush()


def span_attributes_set(span: Any, fields: Mapping[str, Any]) -> None:
    if span.is_recording():
        for name in CONTEXT_FIELDS:
            if fields.get(name) is not None:
                span.set_attribute(f"crosslink.{name}", fields[name])


# --- A file's trace, joined later ----------------------------------------------------------------

FILE_TRACE_KEY = "crosslink:trace:file:{file_id}"


class TraceStore(Protocol):
    """Where a file's trace context (a W3C traceparent) is kept between its operations."""

    def get(self, key: str) -> str | None: ...

    def put(self, key: str, value: str) -> None: ...


_trace_store: TraceStore | None = None


def trace_store_set(store: TraceStore | None) -> None:
    global _trace_store
    _trace_store = store


@contextlib.contextmanager
def file_span(name: str, *, file_id: Any, **fields: Any) -> Iterator[None]:
    """Run the block in the file's own trace.

    The first operation on a file while tracing (its upload's send) remembers the trace it is
    part of. A later operation from another trace (a sweep re-sending it or applying an outcome
    whose callback was lost, a user's retry) runs in a span ``name`` that is a child of the
    file's trace, linked to the span that started it: the re-send, B's task and the callback
    after it join the file's trace. Without tracing, or without a store, nothing happens.
    """
    store = _trace_store
    if not _tracing or store is None:
        yield
        return
    from opentelemetry import trace
    from opentelemetry.propagate import extract, inject

    key = FILE_TRACE_KEY.format(file_id=file_id)
    current = trace.get_current_span().get_span_context()
    try:
        remembered = store.get(key)
    except Exception:  # noqa: BLE001 - a trace is never a reason for an operation to fail
        logging.getLogger(__name__).warning("Could not read the trace of file %s", file_id)
        remembered = None
    if remembered is None:
        carrier: dict[str, str] = {}
        inject(carrier)
        if current.is_valid and carrier.get("traceparent"):
            with contextlib.suppress(Exception):
                store.put(key, carrier["traceparent"])
        yield
        return
    parent = extract({"traceparent": remembered})
    file_trace = trace.get_current_span(parent).get_span_context()
    if not file_trace.is_valid or file_trace.trace_id == current.trace_id:
        yield
        return
    span = trace.get_tracer("crosslink").start_span(
        name,
        context=parent,
        kind=trace.SpanKind.INTERNAL,
        links=[trace.Link(current)] if current.is_valid else None,
    )
    span_attributes_set(span, {"file_id": file_id, **fields})
    with trace.use_span(span, end_on_exit=True):
        yield


# --- Celery -----------------------------------------------------------------------------------


def _request_context(task: Any) -> dict[str, Any]:
    """The file a task is about: from the ``crosslink_*`` headers its sender added, else from
    its keyword arguments (A's callbacks carry ``file_id`` and ``task_id``)."""
    request = task.request
    kwargs = request.kwargs or {}
    fields: dict[str, Any] = {}
    for name in CONTEXT_FIELDS:
        value = getattr(request, HEADER_PREFIX + name, None)
        if value is None:
            value = kwargs.get(name)
        if value is not None:
            fields[name] = value
    if task.name == PROCESS_TASK:
        # A sender that bound nothing: B's task is still the attempt, its payload names the file.
        fields.setdefault("task_id", request.id)
        payload = kwargs.get("payload")
        if isinstance(payload, dict) and payload.get("file_id") is not None:
            fields.setdefault("file_id", payload["file_id"])
    for header in (SENT_AT_HEADER, PUBLISHED_AT_HEADER):
        value = getattr(request, header, None)
        if isinstance(value, int | float):
            fields[header] = float(value)
    return fields


class _Producers:
    """PRODUCER spans for publishes, ended after the publish.

    opentelemetry-instrumentation-celery's own publish hooks leave the span of a message for a
    task the sender has not registered (every ``send_task`` across the two systems, and every
    callback B publishes) open and attached to the context, since its after-publish hook looks
    the task up by name and gives up. These hooks keep the span per message id instead.
    """

    def __init__(self) -> None:
        self.open: dict[str, Any] = {}
        self.lock = threading.Lock()

    def before(self, sender: Any = None, headers: Any = None, **_: Any) -> None:
        from opentelemetry import trace
        from opentelemetry.propagate import inject

        if not isinstance(headers, dict) or not headers.get("id"):
            return
        name = sender if isinstance(sender, str) else getattr(sender, "name", "unknown")
        tracer = trace.get_tracer("crosslink")
        span = tracer.start_span(f"apply_async/{name}", kind=trace.SpanKind.PRODUCER)
        span.set_attribute("celery.action", "apply_async")
        span.set_attribute("celery.task_name", name)
        span.set_attribute("messaging.message.id", headers["id"])
        span_attributes_set(span, _context.get())
        with self.lock:
            self.open[headers["id"]] = span
        inject(headers, context=trace.set_span_in_context(span))

    def after(self, headers: Any = None, **_: Any) -> None:
        if not isinstance(headers, dict):
            return
        with self.lock:
            span = self.open.pop(headers.get("id", ""), None)
        if span is not None:
            span.end()


_producers = _Producers()


def celery_tracing_instrument() -> None:
    """Trace Celery tasks (run spans, from the instrumentation) and publishes (``_Producers``),
    and put the file's fields on every task's span. Call from ``tracing_configure``."""
    from celery import signals
    from opentelemetry import trace
    from opentelemetry.instrumentation.celery import CeleryInstrumentor

    instrumentor = CeleryInstrumentor()  # type: ignore[no-untyped-call]
    instrumentor.instrument()
    signals.before_task_publish.disconnect(instrumentor._trace_before_publish)
    signals.after_task_publish.disconnect(instrumentor._trace_after_publish)
    signals.before_task_publish.connect(_producers.before, weak=False)
    signals.after_task_publish.connect(_producers.after, weak=False)

    def run_span_attributes(task: Any = None, **_: Any) -> None:
        # Connected after the instrumentation's own prerun hook: the current span is the run.
        if task is not None:
            span_attributes_set(trace.get_current_span(), _request_context(task))

    signals.task_prerun.connect(run_span_attributes, weak=False)


def celery_observe(
    *,
    on_task_start: Callable[[Any, Mapping[str, Any]], None] | None = None,
    on_task_end: Callable[[Any, Mapping[str, Any], str | None, Any, float], None] | None = None,
) -> None:
    """Log context and headers for every task of this process's Celery app.

    Each task runs with its file's fields bound (``log_context``); each message published
    within carries them on as ``crosslink_*`` headers, with the time it was published and the
    time A sent the attempt, which B copies onto the callback it publishes. ``on_task_start`` /
    ``on_task_end(task, fields, state, retval, seconds)`` are the system's metrics hooks.
    """
    from celery import signals

    running: dict[str, tuple[Any, float, Mapping[str, Any]]] = {}

    def prerun(task_id: str | None = None, task: Any = None, **_: Any) -> None:
        if task is None or task_id is None:
            return
        fields = _request_context(task)
        token = _context.set({**{k: fields[k] for k in CONTEXT_FIELDS if k in fields}})
        running[task_id] = (token, time.monotonic(), fields)
        if on_task_start is not None:
            on_task_start(task, fields)

    def postrun(
        task_id: str | None = None,
        task: Any = None,
        state: str | None = None,
        retval: Any = None,
        **_: Any,
    ) -> None:
        entry = running.pop(task_id or "", None)
        if entry is None:
            return
        token, started, fields = entry
        try:
            if on_task_end is not None:
                on_task_end(task, fields, state, retval, time.monotonic() - started)
        finally:
            with contextlib.suppress(ValueError):  # reset in another context: nothing to undo
                _context.reset(token)

    def before_publish(sender: Any = None, headers: Any = None, **_: Any) -> None:
        if not isinstance(headers, dict):
            return
        for name, value in _context.get().items():
            headers.setdefault(HEADER_PREFIX + name, value)
        now = time.time()
        if sender == PROCESS_TASK:
            headers[SENT_AT_HEADER] = now  # a new attempt starts its round trip
        else:
            # A message published by a task (B's callback) carries on the attempt's send time.
            current = _current_task_request()
            sent_at = getattr(current, SENT_AT_HEADER, None) if current is not None else None
            if sent_at is not None:
                headers[SENT_AT_HEADER] = sent_at
        headers[PUBLISHED_AT_HEADER] = now

    def setup_logger(logger: logging.Logger | None = None, **_: Any) -> None:
        for handler in logger.handlers if logger is not None else ():
            log_handler_install(handler)

    signals.task_prerun.connect(prerun, weak=False)
    signals.task_postrun.connect(postrun, weak=False)
    signals.before_task_publish.connect(before_publish, weak=False)
    signals.after_setup_logger.connect(setup_logger, weak=False)
    signals.after_setup_task_logger.connect(setup_logger, weak=False)
    signals.worker_process_shutdown.connect(lambda **_: tracing_flush(), weak=False)


def _current_task_request() -> Any:
    celery_state = sys.modules.get("celery._state")
    task = celery_state.get_current_task() if celery_state is not None else None
    return task.request if task is not None else None
