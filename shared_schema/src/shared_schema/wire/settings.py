"""The Celery settings every system on the wire shares, in one place.

Each system adds its own (broker URL and result backend from its environment, time limits,
prefetch, publish timeouts) around these. ``tests/contract/test_wire_settings.py`` checks that
A and B agree on them.
"""

from typing import Any

from shared_schema.queues import QueueSpec
from shared_schema.wire.queues import queue_from_spec


def common_settings(*, queue: QueueSpec, task_events: bool = False) -> dict[str, Any]:
    """Celery settings (lowercase names) for a system whose own work queue is ``queue``.

    ``task_events``: send task events, for a monitor such as Flower; off unless one runs.
    """
    return {
        # JSON only, in and out. Pickle on a broker shared between systems is remote code
        # execution: https://docs.celeryq.dev/en/stable/userguide/security.html#serializers
        "accept_content": ["json"],
        "result_accept_content": ["json"],
        "task_serializer": "json",
        "result_serializer": "json",
        # Retry every result-backend operation (reads included) on a connection error, with
        # backoff: without it, a Redis restart fails a good task "outside the task body", and a
        # caller's reading of an outcome fails with a wrong reason.
        # https://docs.celeryq.dev/en/stable/userguide/configuration.html#result-backend-always-retry
        "result_backend_always_retry": True,
        "result_backend_max_retries": 20,
        # The system declares and consumes only its own queue (quorum, delivery limit,
        # dead-letter exchange: shared_schema.queues); every other queue it publishes to is a
        # peer known by name (shared_schema.wire.queues.PeerQueue). Its own tasks default to it.
        "task_default_queue": queue.name,
        "task_queues": [queue_from_spec(queue)],
        "task_default_delivery_mode": "persistent",
        # Wait for the broker to confirm each publish (callbacks included), so a message the
        # broker never took raises instead of vanishing:
        # https://docs.celeryq.dev/projects/kombu/en/stable/reference/kombu.transport.pyamqp.html
        "broker_transport_options": {"confirm_publish": True},
        "broker_connection_retry_on_startup": True,
        # Acknowledge after the task ends, and requeue if the child process dies, so a crash
        # loses nothing; tasks must be safe to repeat. The requeue is bounded by the quorum
        # queue's x-delivery-limit: a message that kills its worker every time is
        # dead-lettered, not redelivered forever.
        # https://docs.celeryq.dev/en/stable/userguide/configuration.html#task-reject-on-worker-lost
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        # A message the worker cannot read is dead-lettered rather than dropped.
        "worker_consumer": "shared_schema.wire.worker:Consumer",
        # Events for a monitor (Flower, `celery events`), off unless one runs: each is a
        # confirmed publish. https://docs.celeryq.dev/en/stable/userguide/monitoring.html#events
        "worker_send_task_events": task_events,
        # Remote control (Celery's pidbox) on the system's own control exchange, named for its
        # prefix (system_a -> system_a.pidbox), which only its own user may publish to: no
        # system can shut down, cancel, rate-limit, revoke on or inspect another's workers
        # (shared_schema.wire.control).
        "control_exchange": queue.name.split(".", 1)[0],
        # No "task-sent" event on every send: one more confirmed publish, and a monitor already
        # learns of each task from the receiving worker's own events.
        "task_send_sent_event": False,
    }
