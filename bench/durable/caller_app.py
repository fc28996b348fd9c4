"""The durable baseline's caller side: the link callback, which marks its row done with one
UPDATE in PostgreSQL (System A's callback does one guarded UPDATE of its File row). Run from
System A's environment: ``celery -A caller_app worker --queues durable.caller``."""

import os

import psycopg
from celery import Celery
from durable_wire import CALLER_QUEUE, DONE_TASK, TABLE, durable_settings

app = Celery("durable_caller")
app.conf.update(
    durable_settings(
        broker_url=os.environ["CELERY_BROKER_URL"],
        backend_url=os.environ["CELERY_RESULT_BACKEND"],
        default_queue=CALLER_QUEUE,
    ),
    # As System A's callbacks: four prefetched per process, no result stored.
    worker_prefetch_multiplier=4,
    task_ignore_result=True,
)

_connection: psycopg.Connection | None = None


def _database() -> psycopg.Connection:
    """One connection per worker process, opened on first use (after the pool forks)."""
    global _connection
    if _connection is None or _connection.closed:
        _connection = psycopg.connect(os.environ["DATABASE_URL"], autocommit=True)
    return _connection


@app.task(name=DONE_TASK)
def done(result: dict[str, object], *, key: str) -> None:
    _database().execute(f"UPDATE {TABLE} SET done = true WHERE key = %s", (key,))  # noqa: S608
