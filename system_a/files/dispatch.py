"""The one place System A talks to System B: ``send_task`` by name, with both callbacks.

A never imports B. It names the task, puts B's queue on the message, and puts A's own queue on
each callback signature: the link and link_error messages are published by *B's* worker with
B's configuration, so without an explicit queue they would land in B's default queue, where no
A worker listens. See docs/callbacks.md for why plain ``.s()`` signatures are the right callbacks
on the pinned Celery version.
"""

from celery import current_app

from files.models import File
from shared_schema.names import PROCESS_TASK, QUEUE_SYSTEM_A, QUEUE_SYSTEM_B
from shared_schema.payloads import ProcessingRequest


def processing_request_send(*, file: File, task_id: str) -> None:
    from files.tasks import file_processing_failed, file_processing_succeeded

    request = ProcessingRequest(
        file_id=str(file.pk), storage_key=file.storage_key, original_name=file.original_name
    )
    callback_kwargs = {"file_id": file.pk, "task_id": task_id}
    current_app.send_task(
        PROCESS_TASK,
        kwargs={"payload": request.model_dump(mode="json")},
        task_id=task_id,
        queue=QUEUE_SYSTEM_B,
        link=file_processing_succeeded.s(**callback_kwargs).set(queue=QUEUE_SYSTEM_A),
        link_error=file_processing_failed.s(**callback_kwargs).set(queue=QUEUE_SYSTEM_A),
    )
