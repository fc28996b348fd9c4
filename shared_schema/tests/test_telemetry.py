"""The log context and line formats of shared_schema.telemetry, on the standard library's
logging: what every log line of both systems carries."""

import io
import json
import logging
from collections.abc import Callable

import pytest

from shared_schema import telemetry

Capture = Callable[[str], tuple[logging.Logger, io.StringIO]]


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> Capture:
    def make(fmt: str) -> tuple[logging.Logger, io.StringIO]:
        monkeypatch.setenv("CROSSLINK_LOG_FORMAT", fmt)
        out = io.StringIO()
        handler = logging.StreamHandler(out)
        telemetry.log_handler_install(handler)
        logger = logging.getLogger(f"test.telemetry.{fmt}")
        logger.handlers[:] = [handler]
        logger.propagate = False
        logger.setLevel(logging.INFO)
        return logger, out

    return make


def test_a_json_line_carries_the_bound_file_task_and_attempt(captured: Capture) -> None:
    logger, out = captured("json")

    with telemetry.log_context(file_id=7, task_id="t-1", attempt=2):
        logger.info("Sent file %s", 7, extra={"event": "file.sent"})
    logger.info("Outside any file")

    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert first["message"] == "Sent file 7"
    assert (first["event"], first["file_id"], first["task_id"], first["attempt"]) == (
        "file.sent",
        7,
        "t-1",
        2,
    )
    assert first["level"] == "INFO"
    assert first["time"].endswith("+00:00")
    assert "file_id" not in second
    assert "trace_id" not in second  # tracing is off: no field, and no OpenTelemetry imported


def test_nested_contexts_add_fields_and_restore_the_outer_ones(captured: Capture) -> None:
    logger, out = captured("json")

    with telemetry.log_context(file_id=1):
        with telemetry.log_context(task_id="t-2", attempt=None):
            logger.info("inner")
        logger.info("outer")

    inner, outer = (json.loads(line) for line in out.getvalue().splitlines())
    assert (inner["file_id"], inner["task_id"]) == (1, "t-2")
    assert "attempt" not in inner
    assert outer["file_id"] == 1
    assert "task_id" not in outer


def test_a_text_line_keeps_its_format_and_appends_the_context(captured: Capture) -> None:
    logger, out = captured("text")

    with telemetry.log_context(file_id=3, task_id="t-3", attempt=1):
        logger.info("File %s processed", 3, extra={"event": "file.succeeded"})

    line = out.getvalue().strip()
    assert "INFO test.telemetry.text: File 3 processed" in line
    assert line.endswith("[event=file.succeeded file_id=3 task_id=t-3 attempt=1]")


def test_tracing_is_off_unless_an_exporter_or_an_endpoint_is_named() -> None:
    assert not telemetry.tracing_requested({})
    assert not telemetry.tracing_requested({"OTEL_SERVICE_NAME": "a"})
    assert not telemetry.tracing_requested({"OTEL_TRACES_EXPORTER": "none"})
    assert telemetry.tracing_requested({"OTEL_TRACES_EXPORTER": "console"})
    assert telemetry.tracing_requested({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"})
    assert not telemetry.tracing_requested(
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "true"}
    )
