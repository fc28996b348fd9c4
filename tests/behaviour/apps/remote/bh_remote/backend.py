"""The Redis result backend, with one task's SUCCESS stored late on purpose.

Celery publishes a task's success links *before* it stores the result (``app/trace.py``:
"callback tasks must be applied before the result is stored"). The gap is usually too short
to see; holding the store of ``remote.add_store_late`` for ``STORE_DELAY_S`` makes scenario 6
show it every time instead of once in a while. No other task is affected.
"""

import time
from typing import Any

from celery import states
from celery.backends.redis import RedisBackend

STORE_DELAY_S = 3.0
LATE_TASK = "remote.add_store_late"


class LateSuccessStore(RedisBackend):
    def store_result(
        self,
        task_id: str,
        result: Any,
        state: str,
        traceback: Any = None,
        request: Any = None,
        **kwargs: Any,
    ) -> Any:
        if state == states.SUCCESS and getattr(request, "task", None) == LATE_TASK:
            time.sleep(STORE_DELAY_S)
        return super().store_result(
            task_id, result, state, traceback=traceback, request=request, **kwargs
        )
