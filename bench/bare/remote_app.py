"""The bare baseline's remote side: a minimal Celery app with one task, Celery's defaults
except JSON. Run from System B's environment: ``celery -A remote_app worker``."""

import os

from celery import Celery

app = Celery(
    "bare_remote",
    broker=os.environ["CELERY_BROKER_URL"],
    backend=os.environ["CELERY_RESULT_BACKEND"],
)
app.conf.update(
    accept_content=["json"],
    task_serializer="json",
    result_serializer="json",
    task_default_queue="bare.remote",
)


@app.task(name="bare.echo")
def echo(payload: dict[str, object]) -> dict[str, object]:
    return {"received": payload}
