"""The one place System A talks to System B: the caller's toolkit from ``shared_schema.wire``.

A never imports B. It names the task and puts its own queue on each callback signature
(``processing_send`` does both, and checks both queues exist first): the link and link_error
messages are published by *B's* worker with B's configuration, so without an explicit queue
they would land in B's default queue, where no A worker listens. See docs/callbacks.md for why
plain ``.s()`` signatures are the right callbacks on the pinned Celery version.
"""

from celery import current_app

from files.models import File
from shared_schema.names import QUEUE_SYSTEM_A
from shared_schema.payloads import ProcessingRequest
from shared_schema.wire import processing_send


def processing_request_send(*, file: File, task_id: str) -> None:
    from files.tasks import file_processing_failed, file_processing_succeeded

    request = ProcessingRequest(
        file_id=str(file.pk), storage_key=file.storage_key, original_name=file.original_name
    )
    callback_kwargs = {"file_id": file.pk, "task_id": task_id}
    processing_send(
        current_app,
        request=request,
        task_id=task_id,
        reply_queue=QUEUE_SYSTEM_A,
        link=file_processing_succeeded.s(**callback_kwargs),
        link_error=file_processing_failed.s(**callback_kwargs),
    )
