"""Instrumentation loaded by both behaviour workers: what each task received and how it ended.

Every task start, failure, retry and unknown task name becomes one JSON event appended to a
Redis list (``BEHAVIOUR_EVENTS_KEY``) that the scenario runner reads. Signals are used so the
tasks themselves stay as plain as the ones a reader would write.
"""

import json
import os
from typing import Any

import redis
from celery import signals

EVENTS_TTL_S = 3600
_clients: dict[int, "redis.Redis[bytes]"] = {}


def _client() -> "redis.Redis[bytes]":
    # One client per process: pool children are forked and must not share a socket.
    pid = os.getpid()
    if pid not in _clients:
        _clients.clear()
        _clients[pid] = redis.Redis.from_url(os.environ["BEHAVIOUR_REDIS_URL"])
    return _clients[pid]


def record(kind: str, **fields: Any) -> None:
    key = os.environ["BEHAVIOUR_EVENTS_KEY"]
    event = {"side": os.environ.get("BEHAVIOUR_SIDE", "?"), "kind": kind, "pid": os.getpid()}
    event.update(fields)
    pipe = _client().pipeline()
    pipe.rpush(key, json.dumps(event, default=repr))
    pipe.expire(key, EVENTS_TTL_S)
    pipe.execute()


def _tag(kwargs: Any) -> Any:
    return kwargs.get("tag") if isinstance(kwargs, dict) else None


@signals.task_prerun.connect
def _started(task_id: str, task: Any, args: Any, kwargs: Any, **_: Any) -> None:
    request = task.request
    record(
        "started",
        task=task.name,
        id=task_id,
        parent_id=request.parent_id,
        root_id=request.root_id,
        args=list(args or ()),
        kwargs=dict(kwargs or {}),
        tag=_tag(kwargs),
        retries=request.retries,
        redelivered=bool((request.delivery_info or {}).get("redelivered")),
    )


@signals.task_success.connect
def _succeeded(sender: Any, result: Any, **_: Any) -> None:
    request = sender.request
    record("succeeded", task=sender.name, id=request.id, tag=_tag(request.kwargs))


@signals.task_failure.connect
def _failed(
    sender: Any, task_id: str, exception: BaseException, kwargs: Any = None, **_: Any
) -> None:
    record(
        "failed",
        task=sender.name,
        id=task_id,
        tag=_tag(kwargs),
        exc_type=type(exception).__name__,
        exc=str(exception)[:200],
    )


@signals.task_retry.connect
def _retried(sender: Any, request: Any, reason: Any, **_: Any) -> None:
    record("retry", task=sender.name, id=request.id, tag=_tag(request.kwargs), reason=str(reason))


@signals.task_unknown.connect
def _unknown(name: str, id: str, **_: Any) -> None:
    record("unknown", task=name, id=id)
