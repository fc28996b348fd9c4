"""Send a stored file to System B: ``python -m system_c.send REF STORAGE_KEY``; prints the task id.

The file must already be in the shared storage, written atomically and never rewritten.
"""

import sys
import uuid

from shared_schema.payloads import ProcessingRequest
from shared_schema.wire import processing_send
from system_c.celery_app import QUEUE_SYSTEM_C, app
from system_c.tasks import failed, processed


def main(argv: list[str]) -> None:
    ref, storage_key = argv
    task_id = str(uuid.uuid4())
    processing_send(
        app,
        request=ProcessingRequest(file_id=ref, storage_key=storage_key),
        task_id=task_id,
        reply_queue=QUEUE_SYSTEM_C,
        link=processed.s(ref=ref),
        link_error=failed.s(ref=ref),
    )
    print(task_id)


if __name__ == "__main__":
    main(sys.argv[1:])
