"""What both apps of the durable baseline share: the guarantees crosslink gives its messages,
configured the plain way, with nothing of crosslink's code.

Quorum queues, persistent messages, publisher confirms, late acks with a requeue if the worker
dies, JSON only, results in Redis. Each app declares both queues identically (RabbitMQ refuses a
redeclaration with other arguments), so the remote side can publish the callback to a quorum
queue it does not consume. Imported by both apps and by the bench process: each finds it on its
path (``celery`` adds its working directory, bench/durable/).
"""

from typing import Any

from kombu import Exchange, Queue

REMOTE_QUEUE = "durable.remote"
CALLER_QUEUE = "durable.caller"
WORK_TASK = "durable.work"
DONE_TASK = "durable.done"
TABLE = "bench_durable"


def _quorum(name: str) -> Queue:
    return Queue(
        name,
        Exchange(name, type="topic", durable=True),
        routing_key=name,
        durable=True,
        queue_arguments={"x-queue-type": "quorum"},
    )


def durable_settings(*, broker_url: str, backend_url: str, default_queue: str) -> dict[str, Any]:
    return {
        "broker_url": broker_url,
        "result_backend": backend_url,
        "accept_content": ["json"],
        "result_accept_content": ["json"],
        "task_serializer": "json",
        "result_serializer": "json",
        "task_queues": [_quorum(REMOTE_QUEUE), _quorum(CALLER_QUEUE)],
        "task_default_queue": default_queue,
        "task_default_delivery_mode": "persistent",
        "broker_transport_options": {"confirm_publish": True},
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "broker_connection_retry_on_startup": True,
    }
