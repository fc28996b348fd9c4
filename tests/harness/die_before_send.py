"""A fault hook for A's processes: die between committing a claim and publishing its message.

Imported into a worker of A (``celery worker --include harness.die_before_send``) or an
uploading process by the fault tests, never by A itself. While the file named by
CROSSLINK_CHAOS_DEATHS holds a positive number, the next publish of ``remote.processing``
decrements it and SIGKILLs the whole process group (a worker's parent and pool children at
once): the attempt is claimed and committed, and its message never exists. That is the window
the outbox closes; the relay must send it.
"""

import os
import signal
from pathlib import Path
from typing import Any

from celery.signals import before_task_publish

from shared_schema.names import PROCESS_TASK

DEATHS_ENV = "CROSSLINK_CHAOS_DEATHS"


@before_task_publish.connect
def _die_before_send(sender: str | None = None, **_: Any) -> None:
    counter = os.environ.get(DEATHS_ENV)
    if sender != PROCESS_TASK or not counter:
        return
    path = Path(counter)
    try:
        left = int(path.read_text().strip() or "0")
    except FileNotFoundError:
        return
    if left <= 0:
        return
    path.write_text(str(left - 1))
    os.killpg(os.getpgid(0), signal.SIGKILL)
