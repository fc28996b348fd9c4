import threading

import pytest

from system_b.started import StartedLater

DEADLINE_S = 10.0


def test_a_run_that_outlasts_the_delay_is_recorded_once() -> None:
    recorded = threading.Event()
    calls: list[str] = []
    started = StartedLater(after=0.02, tick=0.01)

    def record() -> None:
        calls.append("run")
        recorded.set()

    started.begin(record)

    assert recorded.wait(DEADLINE_S)
    started.settle()
    assert calls == ["run"]


def test_a_run_settled_before_the_delay_is_never_recorded() -> None:
    now = [0.0]
    calls: list[str] = []
    # A watcher that would look only in an hour: the test looks itself, at a time it chooses.
    started = StartedLater(after=0.02, tick=3600, clock=lambda: now[0])

    started.begin(lambda: calls.append("short run"))
    started.settle()
    now[0] = 1.0  # long past the run's due time
    started.look()

    assert calls == []


def test_a_run_not_settled_is_recorded_once_due_and_not_before() -> None:
    now = [0.0]
    calls: list[str] = []
    started = StartedLater(after=0.02, tick=3600, clock=lambda: now[0])

    started.begin(lambda: calls.append("run"))
    started.look()
    assert calls == []  # not due yet
    now[0] = 0.02
    started.look()
    started.look()

    assert calls == ["run"]


def test_settling_waits_for_a_record_under_way() -> None:
    entered, release = threading.Event(), threading.Event()
    order: list[str] = []
    started = StartedLater(after=0.0, tick=0.01)

    def slow_record() -> None:
        entered.set()
        release.wait(DEADLINE_S)
        order.append("recorded")

    started.begin(slow_record)
    assert entered.wait(DEADLINE_S)

    def settle() -> None:
        started.settle()
        order.append("settled")

    settling = threading.Thread(target=settle)
    settling.start()
    settling.join(0.1)
    assert settling.is_alive()  # still waiting for the record

    release.set()
    settling.join(DEADLINE_S)
    assert order == ["recorded", "settled"]


def test_a_record_that_fails_is_logged_and_the_next_run_is_still_watched(
    caplog: pytest.LogCaptureFixture,
) -> None:
    attempted, recorded = threading.Event(), threading.Event()
    started = StartedLater(after=0.0, tick=0.01)

    def failing() -> None:
        attempted.set()
        raise ConnectionError("the result backend is down")

    started.begin(failing)
    assert attempted.wait(DEADLINE_S)
    started.settle()  # waits for the failed record; raises nothing
    started.begin(recorded.set)

    assert recorded.wait(DEADLINE_S)
    assert "Could not record STARTED" in caplog.text
