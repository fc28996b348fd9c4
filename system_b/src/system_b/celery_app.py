"""System B's Celery application: ``celery -A system_b.celery_app worker``.

B publishes more than its results: when ``remote.processing`` ends, *this* worker publishes the
link or link_error message with *this* configuration, to whichever caller's queue the
signature names (a peer queue: shared_schema.wire.queues). B keeps no list of its callers.
"""

from shared_schema.queues import SYSTEM_B_QUEUE
from shared_schema.wire import WireCelery, common_settings
from system_b import store, telemetry
from system_b.dead_letters import DeadLetterWatch
from system_b.settings import settings

app = WireCelery("system_b", include=["system_b.tasks"])

app.conf.update(
    common_settings(queue=SYSTEM_B_QUEUE, task_events=settings.task_events),
    broker_url=settings.broker_url,
    result_backend=settings.result_backend,
    # One message at a time per child: a long task must not sit on prefetched work another
    # worker could take.
    worker_prefetch_multiplier=1,
    task_soft_time_limit=settings.soft_time_limit,
    task_time_limit=settings.hard_time_limit,
    # No task_track_started: STARTED, which lets a caller tell "queued" from "running", is
    # recorded by remote.processing itself for a run that lasts (system_b.started).
)
telemetry.celery_setup()  # log context, traces, metrics: docs/observability.md
store.store_setup()  # each pool process's own S3 client, made as it starts
# A message dead-lettered for its delivery limit becomes a worker_lost failure with errbacks.
app.steps["consumer"].add(DeadLetterWatch)
