"""One file followed from upload to callback: the trace, the metrics and the log lines that
A's web server, A's worker and B's worker produce for a success and for a failure."""

import urllib.request
from collections.abc import Callable

import pytest
from django.conf import settings
from observability.conftest import Observed, Upload
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.authtoken.models import Token

from files.models import File
from harness.http import request
from harness.logs import log_events
from harness.otlp import Span
from harness.waiting import wait_for
from shared_schema.errors import ErrorCode

pytestmark = pytest.mark.integration

GOOD_CSV = b"id,name,score\n1,ada,9.5\n2,grace,8.25\n"
BROKEN_CSV = b"a,b,c\n1,2,3\n4,5\n"
TIMEOUT_S = 60


def _finished(file_id: int) -> File:
    def probe() -> File | None:
        file = File.objects.get(pk=file_id)
        return file if file.status in (File.Status.SUCCESS, File.Status.FAILED) else None

    return wait_for(probe, timeout=TIMEOUT_S, what=f"file {file_id} to finish")


def _file_trace(observed: Observed, file: File, callback: str, *also: str) -> dict[str, Span]:
    """The spans of the file's trace, by name, once every process has exported its part."""

    def probe() -> dict[str, Span] | None:
        spans = observed.receiver.snapshot()
        ends = [
            s
            for s in spans
            if s.name == f"run/{callback}"
            and str(s.attributes.get("crosslink.file_id")) == str(file.pk)
        ]
        if not ends:
            return None
        trace = {s.name: s for s in spans if s.trace_id == ends[0].trace_id}
        # Each process exports on its own schedule: wait for all of them.
        wanted = {
            "apply_async/remote.processing",
            "run/remote.processing",
            f"apply_async/{callback}",
        }
        if not wanted <= trace.keys() or not any(s.kind == "SERVER" for s in trace.values()):
            return None
        return trace

    return wait_for(
        probe,
        timeout=TIMEOUT_S,
        what=f"the spans of file {file.pk}",
        describe=lambda: "\n".join(
            f"{s.service} {s.name} {s.trace_id}" for s in observed.receiver.snapshot()
        ),
    )


def _assert_one_trace_across_both_hops(spans: dict[str, Span], file: File, callback: str) -> None:
    server = next(s for s in spans.values() if s.kind == "SERVER")
    send = spans["apply_async/remote.processing"]
    run_b = spans["run/remote.processing"]
    publish_callback = spans[f"apply_async/{callback}"]
    run_callback = spans[f"run/{callback}"]

    assert server.service == "system-a-web"
    assert server.parent_id == ""  # the upload request starts the trace
    assert (send.service, send.kind, send.parent_id) == ("system-a-web", "PRODUCER", server.span_id)
    assert (run_b.service, run_b.kind, run_b.parent_id) == (
        "system-b-worker",
        "CONSUMER",
        send.span_id,
    )
    # The callback B's worker publishes carries the context on to A.
    assert (publish_callback.service, publish_callback.kind, publish_callback.parent_id) == (
        "system-b-worker",
        "PRODUCER",
        run_b.span_id,
    )
    assert (run_callback.service, run_callback.kind, run_callback.parent_id) == (
        "system-a-worker",
        "CONSUMER",
        publish_callback.span_id,
    )
    for span in (send, run_b, publish_callback, run_callback):
        assert str(span.attributes["crosslink.file_id"]) == str(file.pk), span
        assert span.attributes["crosslink.task_id"] == file.task_id, span
        assert span.attributes["crosslink.attempt"] == 1, span
    assert run_b.attributes["messaging.message.id"] == file.task_id


def test_a_success_is_one_trace_from_the_upload_request_through_b_to_as_callback(
    observed: Observed, api_upload: Upload
) -> None:
    file = _finished(api_upload("good.csv", GOOD_CSV))
    assert file.status == File.Status.SUCCESS

    spans = _file_trace(observed, file, "system_a.file_processing_succeeded")

    _assert_one_trace_across_both_hops(spans, file, "system_a.file_processing_succeeded")
    assert spans["run/remote.processing"].status != "ERROR"


def test_a_failure_is_one_trace_ending_in_as_error_callback_with_bs_span_in_error(
    observed: Observed, api_upload: Upload
) -> None:
    file = _finished(api_upload("broken.csv", BROKEN_CSV))
    assert file.error_code == ErrorCode.INCONSISTENT_ROWS

    spans = _file_trace(observed, file, "system_a.file_processing_failed")

    _assert_one_trace_across_both_hops(spans, file, "system_a.file_processing_failed")
    assert spans["run/remote.processing"].status == "ERROR"


def test_a_retry_from_another_request_joins_the_files_trace_and_links_to_that_request(
    observed: Observed, api_upload: Upload
) -> None:
    """The path the sweeper's re-sends and reconciliations take too (services.file_span)."""
    file = _finished(api_upload("fixable.csv", BROKEN_CSV))
    first = _file_trace(observed, file, "system_a.file_processing_failed")
    upload_request = next(s for s in first.values() if s.kind == "SERVER")
    (settings.STORAGE_ROOT / file.storage_key).write_bytes(GOOD_CSV)

    token = Token.objects.get(user=file.owner).key
    reply = request(
        "POST",
        f"{observed.web}/api/files/{file.pk}/retry/",
        headers={"Authorization": f"Token {token}", "Accept": "application/json"},
    )
    assert reply.status == 202, reply.body
    file = _finished(file.pk)
    assert (file.status, file.attempts) == (File.Status.SUCCESS, 2)

    trace_id = _file_trace(observed, file, "system_a.file_processing_succeeded", "file.send")[
        "file.send"
    ].trace_id
    second = {
        s.name: s
        for s in observed.receiver.snapshot()
        if s.trace_id == trace_id and s.attributes.get("crosslink.attempt") == 2
    }
    resend = second["file.send"]
    retry_request = next(
        s
        for s in observed.receiver.snapshot()
        if s.kind == "SERVER" and s.attributes.get("http.route", "").endswith("retry/")
    )
    assert resend.trace_id == upload_request.trace_id != retry_request.trace_id
    assert resend.parent_id == upload_request.span_id
    assert resend.links == [(retry_request.trace_id, retry_request.span_id)]
    assert second["apply_async/remote.processing"].parent_id == resend.span_id
    run_b = second["run/remote.processing"]
    assert (run_b.attributes["crosslink.attempt"], run_b.attributes["crosslink.task_id"]) == (
        2,
        file.task_id,
    )


# --- Metrics --------------------------------------------------------------------------------------

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def _scrape(url: str) -> Samples:
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_metrics_count_a_success_and_a_failure_on_both_systems(
    observed: Observed, api_upload: Upload
) -> None:
    a_url, b_url = f"{observed.web}/metrics", observed.b_metrics
    a_before, b_before = _scrape(a_url), _scrape(b_url)

    good = _finished(api_upload("good.csv", GOOD_CSV))
    bad = _finished(api_upload("broken.csv", BROKEN_CSV))
    assert (good.status, bad.status) == (File.Status.SUCCESS, File.Status.FAILED)

    def grew(url: str, before: Samples, name: str, by: float, **labels: str) -> Callable[[], bool]:
        return lambda: _value(_scrape(url), name, **labels) - _value(before, name, **labels) == by

    # A's callbacks record after the file row is written: wait for the last one's metrics.
    wait_for(
        grew(a_url, a_before, "crosslink_a_round_trip_seconds_count", 1, outcome="failed"),
        timeout=TIMEOUT_S,
        what="A's round trip of the failed file",
    )
    a, b = _scrape(a_url), _scrape(b_url)

    def delta(now: Samples, before: Samples, name: str, **labels: str) -> float:
        return _value(now, name, **labels) - _value(before, name, **labels)

    # A: files by state (counted in the database at scrape time: this test's files only).
    assert _value(a, "crosslink_a_files", state="SUCCESS") == 1
    assert _value(a, "crosslink_a_files", state="FAILED") == 1
    assert _value(a, "crosslink_a_files", state="PROCESSING") == 0
    assert _value(a, "crosslink_a_files_failed", error_code=ErrorCode.INCONSISTENT_ROWS.value) == 1
    # A: one round trip and one callback wait per outcome, both applied.
    for callback in ("succeeded", "failed"):
        assert delta(a, a_before, "crosslink_a_round_trip_seconds_count", outcome=callback) == 1
        assert delta(a, a_before, "crosslink_a_callback_lag_seconds_count", callback=callback) == 1
        assert (
            delta(a, a_before, "crosslink_a_callbacks_total", callback=callback, applied="true")
            == 1
        )
    assert delta(a, a_before, "crosslink_a_round_trip_seconds_sum", outcome="succeeded") > 0
    # B: one processing of each outcome, the good file's bytes, the failure's error code.
    assert delta(b, b_before, "crosslink_b_processing_seconds_count", outcome="success") == 1
    assert delta(b, b_before, "crosslink_b_processing_seconds_count", outcome="failure") == 1
    assert delta(b, b_before, "crosslink_b_processed_bytes_total") == len(GOOD_CSV)
    assert (
        delta(
            b, b_before, "crosslink_b_failures_total", error_code=ErrorCode.INCONSISTENT_ROWS.value
        )
        == 1
    )


# --- Logs -----------------------------------------------------------------------------------------


def test_every_systems_log_lines_for_a_file_carry_its_id_task_attempt_and_trace(
    observed: Observed, api_upload: Upload
) -> None:
    file = _finished(api_upload("good.csv", GOOD_CSV))
    trace_id = _file_trace(observed, file, "system_a.file_processing_succeeded")[
        "run/remote.processing"
    ].trace_id
    expected = {"file_id": file.pk, "task_id": file.task_id, "attempt": 1, "trace_id": trace_id}

    def fields(event: dict[str, object]) -> dict[str, object]:
        return {name: event.get(name) for name in expected}

    sent = log_events(observed.web_process.log(), "file.sent", file_id=file.pk)
    applied = log_events(observed.worker_a.log(), "file.succeeded", file_id=file.pk)
    b_lines = log_events(observed.worker_b.log(), task_id=file.task_id)
    b_done = [e for e in b_lines if e.get("event") == "task.succeeded"]

    assert [fields(e) for e in sent] == [expected]
    assert [fields(e) for e in applied] == [expected]
    # Every line B wrote while running the task (its own and Celery's) names the file.
    assert b_lines
    assert all(fields(e) == expected for e in b_lines if e["process"] != "MainProcess"), b_lines
    assert [e["celery_task_id"] for e in b_done] == [file.task_id]
