"""B replies to whichever queue a callback names, starts whether or not that queue exists, and
a callback it cannot publish never replaces the task's real outcome.

On a fresh vhost B starts first, alone: A's callback queue does not exist yet (as when
`make demo` or compose starts B before A). B must start all the same. Files whose callback
queue is gone by the time B runs them (deleted after the send) are processed; B's callbacks to
the missing queue fail loudly in B's log, and the result backend keeps each task's true outcome
(stock Celery 5.7 stored the publish error instead, "Exception raised outside body"). Once A
starts, A's sweeper applies those outcomes, and new files round-trip through the callbacks.
"""

import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from amqp.exceptions import NotFound
from celery.result import AsyncResult
from django.conf import settings
from django.utils import timezone
from kombu import Connection

from config.celery import app as a_app
from config.testing import celery_broker
from files import sweeper
from files.models import File
from harness.files import finished, upload
from harness.processes import ManagedProcess, celery_worker
from harness.rabbitmq import throwaway_vhost
from harness.waiting import wait_for
from shared_schema.errors import InconsistentRows
from shared_schema.names import QUEUE_SYSTEM_A, QUEUE_SYSTEM_B
from shared_schema.payloads import ProcessingRequest
from shared_schema.queues import SYSTEM_A_QUEUE, SYSTEM_B_QUEUE
from shared_schema.wire import processing_send, queue_from_spec

pytestmark = pytest.mark.integration

GOOD_CSV = b"id,name\n1,ada\n2,grace\n"
BROKEN_CSV = b"id,name\n1,ada\n2\n"
OUTCOME_TIMEOUT_S = 60


@pytest.fixture
def fresh(wire: dict[str, str], run_dir: Path) -> Iterator[tuple[dict[str, str], Path]]:
    """A vhost of its own, where nothing is declared yet; this process sends there."""
    with throwaway_vhost(settings.CELERY_BROKER_URL) as url, celery_broker(url):
        logs = run_dir / "logs" / f"fresh-{url.rsplit('/', 1)[-1]}"
        logs.mkdir(parents=True)
        yield {**wire, "CELERY_BROKER_URL": url}, logs


def started(process: ManagedProcess, stack: list[ManagedProcess]) -> ManagedProcess:
    stack.append(process)
    return process.start()


def stored(task_id: str) -> Any:
    result: AsyncResult[Any] = AsyncResult(task_id, app=a_app)
    return result if result.state in ("SUCCESS", "FAILURE") else None


def test_b_starts_before_any_callers_queue_keeps_every_outcome_and_a_reconciles_them(
    fresh: tuple[dict[str, str], Path], transactional_db: None
) -> None:
    env, logs = fresh
    running: list[ManagedProcess] = []
    try:
        first_b = started(
            celery_worker(system="b", env=env, log_dir=logs, queues=QUEUE_SYSTEM_B), running
        )
        assert first_b.alive()  # started, though no caller's queue exists on this vhost
        first_b.stop()

        # A's queue exists when the files are sent (the toolkit checks it), and is gone
        # before B runs them.
        with Connection(env["CELERY_BROKER_URL"]) as connection:
            a_queue = queue_from_spec(SYSTEM_A_QUEUE)(connection.default_channel)
            a_queue.declare()
            good = upload("good.csv", GOOD_CSV)
            broken = upload("broken.csv", BROKEN_CSV)
            a_queue.delete()
        for file in (good, broken):
            file.refresh_from_db()
            assert file.status == File.Status.PROCESSING
        b = started(
            celery_worker(system="b", env=env, log_dir=logs, queues=QUEUE_SYSTEM_B), running
        )

        # The true outcomes, not the callbacks' publish errors.
        outcomes = {
            file.pk: wait_for(
                lambda task_id=file.task_id: stored(task_id),
                timeout=OUTCOME_TIMEOUT_S,
                what=f"task {file.task_id} to finish",
                describe=b.tail,
            )
            for file in (good, broken)
        }
        assert outcomes[good.pk].state == "SUCCESS", outcomes[good.pk].result
        assert outcomes[good.pk].result["rows"] == 2
        assert outcomes[broken.pk].state == "FAILURE"
        assert isinstance(outcomes[broken.pk].result, InconsistentRows)

        # Loud: one CRITICAL line per lost callback, naming the task and the missing queue. (An
        # errback is published after the failure is stored: wait for its line too.)
        for file, kind in ((good, "link"), (broken, "link_error")):
            lost = wait_for(
                lambda task_id=file.task_id: [
                    line
                    for line in b.log().splitlines()
                    if task_id in line and "Could not publish the" in line
                ],
                timeout=OUTCOME_TIMEOUT_S,
                what=f"B to log the lost {kind} callback of task {file.task_id}",
                describe=b.tail,
            )
            for said in ("CRITICAL", f"the {kind} callback", QUEUE_SYSTEM_A, "NOT_FOUND"):
                assert said in lost[0]
        # Still the true outcomes once the callbacks failed (stock Celery overwrote them here).
        assert isinstance(stored(broken.task_id).result, InconsistentRows)
        assert stored(good.task_id).state == "SUCCESS"
        assert "raised outside body" not in b.log()
        assert b.alive()

        # A starts later; its sweeper applies the stored outcomes the callbacks never carried.
        a = started(
            celery_worker(system="a", env=env, log_dir=logs, queues=QUEUE_SYSTEM_A), running
        )
        policy = sweeper.SweepPolicy.from_settings()
        report = sweeper.file_sweep(
            now=timezone.now() + policy.processing_stale_after + timedelta(seconds=1),
            policy=policy,
        )
        assert report.succeeded == [good.pk]
        assert report.failed == [broken.pk]
        good.refresh_from_db()
        broken.refresh_from_db()
        assert good.status == File.Status.SUCCESS
        assert broken.status == File.Status.FAILED
        assert broken.error_code == InconsistentRows.code

        # Start order no longer matters: the next file comes back through its callback.
        later = finished(upload("later.csv", GOOD_CSV), (a, b))
        assert later.status == File.Status.SUCCESS, later.error_message
        assert a.alive()
        assert b.alive()
    finally:
        for process in reversed(running):
            process.stop()


def test_a_caller_whose_own_queue_does_not_exist_yet_sends_nothing(
    fresh: tuple[dict[str, str], Path],
) -> None:
    """The toolkit checks the reply queue before sending: a reply B could not publish would be
    lost, so the caller keeps its work pending instead (A's file stays PENDING)."""
    env, _ = fresh
    request = ProcessingRequest(file_id="1", storage_key="uploads/x.csv")
    # A's app, which `fresh` points at the vhost: not current_app, whichever app was made
    # current last in this process (the behaviour lab's driver, once, whose pools were closed).
    noop = a_app.signature("system_c.unused")
    with Connection(env["CELERY_BROKER_URL"]) as connection:
        b_queue = queue_from_spec(SYSTEM_B_QUEUE)(connection.default_channel)
        b_queue.declare()
        with pytest.raises(NotFound, match=r"system_c\.callbacks"):
            processing_send(
                a_app,
                request=request,
                task_id=str(uuid.uuid4()),
                reply_queue="system_c.callbacks",
                link=noop,
                link_error=noop,
            )
        assert b_queue.queue_declare(passive=True).message_count == 0
