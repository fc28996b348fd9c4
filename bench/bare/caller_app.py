"""The bare baseline's caller side: the link callback, which records that it ran in Redis
(the baseline's stand-in for System A's database update). Run from System A's environment."""

import os

import redis
from celery import Celery

app = Celery(
    "bare_caller",
    broker=os.environ["CELERY_BROKER_URL"],
    backend=os.environ["CELERY_RESULT_BACKEND"],
)
app.conf.update(
    accept_content=["json"],
    task_serializer="json",
    result_serializer="json",
    task_default_queue="bare.caller",
)

_redis = redis.Redis.from_url(os.environ["CELERY_RESULT_BACKEND"])


@app.task(name="bare.done")
def done(result: dict[str, object], *, key: str, counter: str) -> None:
    pipe = _redis.pipeline()
    pipe.set(key, 1, ex=3600)
    pipe.incr(counter)
    pipe.expire(counter, 3600)
    pipe.execute()
