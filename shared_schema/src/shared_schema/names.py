"""Names on the wire: the task B owns and the queue each system consumes.

A queue is named for the system that consumes it. Every signature either side builds carries
its queue explicitly: link and link_error messages are published by the worker that ran the
task, with *that* worker's configuration, so the caller's ``task_routes`` never apply to them.
"""

from typing import Final

PROCESS_TASK: Final = "remote.processing"
"""The task System B owns. System A calls it by name with ``send_task``; it never imports B."""

QUEUE_SYSTEM_B: Final = "system_b.remote"
"""Work for System B. Only B's workers consume it."""

QUEUE_SYSTEM_A: Final = "system_a.callbacks"
"""System A's callbacks and housekeeping. Only A's workers consume it."""
