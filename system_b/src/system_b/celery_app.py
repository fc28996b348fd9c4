"""System B's Celery application: ``celery -A system_b.celery_app worker``.

B publishes more than its results: when ``remote.processing`` ends, *this* worker publishes the
link or link_error message with *this* configuration. System A's routing never applies to those
messages, which is why A puts the queue on every signature it sends.
"""

from celery import Celery

from shared_schema.names import QUEUE_SYSTEM_B
from system_b.dead_letters import DeadLetterWatch
from system_b.settings import settings
from system_b.wire import DeclareDeadLetter, SystemBAMQP, own_queues

app = Celery("system_b", include=["system_b.tasks"], amqp=SystemBAMQP)

app.conf.update(
    broker_url=settings.broker_url,
    result_backend=settings.result_backend,
    # Retry every result-backend operation on a connection error with backoff: without it, a
    # Redis restart while B records STARTED fails a good file "outside the task body":
    # https://docs.celeryq.dev/en/stable/userguide/configuration.html#result-backend-always-retry
    result_backend_always_retry=True,
    result_backend_max_retries=20,
    # JSON only, in and out. Pickle on a broker shared between systems is remote code execution:
    # https://docs.celeryq.dev/en/stable/userguide/security.html#serializers
    accept_content=["json"],
    result_accept_content=["json"],
    task_serializer="json",
    result_serializer="json",
    # B declares only its own queue (shared_schema.queues: quorum, delivery limit, dead-letter
    # exchange); A's callback queue is known by name only (system_b.wire.PeerQueue).
    task_default_queue=QUEUE_SYSTEM_B,
    task_queues=own_queues(),
    # A message B cannot read is dead-lettered rather than dropped (system_b.wire.Consumer);
    # delayed delivery binds only B's own queue (system_b.consumer).
    worker_consumer="system_b.consumer:Consumer",
    task_default_delivery_mode="persistent",
    # Wait for the broker to confirm each publish (results' link messages included), so a
    # message the broker never took raises here instead of vanishing:
    # https://docs.celeryq.dev/projects/kombu/en/stable/reference/kombu.transport.pyamqp.html
    broker_transport_options={"confirm_publish": True},
    broker_connection_retry_on_startup=True,
    # Acknowledge after the task ends, and requeue if the child process dies, so a crash
    # mid-file loses nothing. Processing is safe to repeat. The requeue is bounded by the quorum
    # queue's x-delivery-limit: a file that kills its worker every time is dead-lettered, not
    # redelivered forever. One message at a time per child:
    # a long task must not sit on prefetched work another worker could take.
    # https://docs.celeryq.dev/en/stable/userguide/configuration.html#task-reject-on-worker-lost
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_soft_time_limit=settings.soft_time_limit,
    task_time_limit=settings.hard_time_limit,
    # STARTED lets A tell "queued" from "running".
    task_track_started=True,
    # Events for a monitor (Flower, `celery events`), off unless one runs: two confirmed
    # publishes before every task. https://docs.celeryq.dev/en/stable/userguide/monitoring.html
    worker_send_task_events=settings.task_events,
    # No "task-sent" event for the callbacks B publishes: one more confirmed publish per file;
    # A's worker reports them to Flower when it receives them.
    task_send_sent_event=False,
)

app.steps["consumer"].add(DeclareDeadLetter)
# A message dead-lettered for its delivery limit becomes a worker_lost failure with errbacks.
app.steps["consumer"].add(DeadLetterWatch)
