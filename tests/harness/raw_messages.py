"""Publish messages with a bare kombu producer, the way a buggy or hostile client would.

Nothing here goes through Celery's ``send_task``: the headers, body and content type are
written by hand (Celery's message protocol 2,
https://docs.celeryq.dev/en/stable/internals/protocol.html#version-2), so a test can send what
Celery itself would never produce: a body that is not JSON, a pickle, an unknown task name.
"""

import json
import pickle
from typing import Any

from kombu import Connection, Exchange, Producer, Queue

from shared_schema.names import QUEUE_SYSTEM_B
from shared_schema.queues import EXCHANGE_TYPE, dead_letter_queue

JSON = "application/json"
PICKLE = "application/x-python-serialize"


def task_headers(*, task: str, task_id: str) -> dict[str, Any]:
    return {
        "lang": "py",
        "task": task,
        "id": task_id,
        "root_id": task_id,
        "parent_id": None,
        "group": None,
        "retries": 0,
        "timelimit": [None, None],
        "eta": None,
        "expires": None,
        "shadow": None,
        "argsrepr": "()",
        "kwargsrepr": "{}",
        "origin": "crosslink-chaos-raw-client",
        "ignore_result": False,
    }


def task_body(*, kwargs: dict[str, Any], errbacks: list[dict[str, Any]] | None = None) -> list[Any]:
    embed = {"callbacks": None, "errbacks": errbacks, "chain": None, "chord": None}
    return [[], kwargs, embed]


def publish_raw(
    url: str,
    *,
    routing_key: str,
    body: bytes,
    content_type: str,
    headers: dict[str, Any],
    task_id: str | None = None,
) -> None:
    with Connection(url) as connection:
        producer = Producer(
            # Each work queue is bound to its own exchange, named like it.
            connection.default_channel,
            exchange=Exchange(routing_key, type=EXCHANGE_TYPE),
        )
        producer.publish(
            body,
            routing_key=routing_key,
            content_type=content_type,
            content_encoding="binary" if content_type == PICKLE else "utf-8",
            headers=headers,
            correlation_id=task_id,
            delivery_mode=2,
        )


def json_bytes(value: object) -> bytes:
    return json.dumps(value).encode()


def pickle_bytes(value: object) -> bytes:
    return pickle.dumps(value)


def dead_letter_count(url: str, *, owner: str = QUEUE_SYSTEM_B) -> int:
    with Connection(url) as connection:
        declared = (
            Queue(dead_letter_queue(owner).name)
            .bind(connection.default_channel)
            .queue_declare(passive=True)
        )
        return int(declared.message_count)
