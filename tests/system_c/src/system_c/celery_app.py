"""System C's Celery application: ``celery -A system_c.celery_app worker``."""

import os

from shared_schema.queues import work_queue
from shared_schema.wire import WireCelery, common_settings

QUEUE_SYSTEM_C = "system_c.callbacks"
"""C's own queue: its name prefix is its broker user's (tests/system_c/permissions.json)."""

app = WireCelery("system_c", include=["system_c.tasks"])
app.conf.update(
    common_settings(queue=work_queue(QUEUE_SYSTEM_C)),
    broker_url=os.environ["CELERY_BROKER_URL"],
    result_backend=os.environ["CELERY_RESULT_BACKEND"],
)
