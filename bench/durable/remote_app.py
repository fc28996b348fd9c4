"""The durable baseline's remote side: one task, with crosslink's message guarantees
(durable_wire) and none of its code. Run from System B's environment:
``celery -A remote_app worker --queues durable.remote``."""

import os

from celery import Celery
from durable_wire import REMOTE_QUEUE, WORK_TASK, durable_settings

app = Celery("durable_remote")
app.conf.update(
    durable_settings(
        broker_url=os.environ["CELERY_BROKER_URL"],
        backend_url=os.environ["CELERY_RESULT_BACKEND"],
        default_queue=REMOTE_QUEUE,
    ),
    # One message at a time per child, as System B: late acks on a long task.
    worker_prefetch_multiplier=1,
)


@app.task(name=WORK_TASK)
def work(payload: dict[str, object]) -> dict[str, object]:
    return {"received": payload}
