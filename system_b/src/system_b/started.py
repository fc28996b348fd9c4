"""STARTED for a run that lasts: what Celery's ``task_track_started`` records before every run.

Celery records STARTED with a read and a write to the result backend before the task's body,
on the path of every file. STARTED is for a person watching the file ("running", not
"queued"): a run over within a fraction of a second goes from queued to done, which is all
anyone could have seen of it. So ``remote.processing`` records STARTED only once its run has
lasted ``after`` seconds, from one thread per worker process that looks every ``tick``
seconds; a run that ends sooner costs two uncontended lock acquisitions.
"""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from celery.utils.log import get_logger

logger = get_logger(__name__)


@dataclass(frozen=True)
class _Run:
    due: float
    record: Callable[[], object]


class StartedLater:
    """Calls ``record`` for the run begun with ``begin`` once it has lasted ``after`` seconds,
    unless ``settle`` came first. ``settle`` also waits for a ``record`` under way, so that
    whatever the run stores next (progress, its outcome) is never overwritten by STARTED.

    One run at a time, as in a prefork child (B's pool). In a pool that runs several tasks in
    one process (threads, gevent), a run begun while another is watched replaces it: a STARTED
    may then be missed, never written over a later state.
    """

    def __init__(
        self, *, after: float, tick: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.after = after
        self.tick = tick
        self.clock = clock
        self._lock = threading.Condition()
        self._run: _Run | None = None
        self._recording = False
        self._thread: threading.Thread | None = None

    def begin(self, record: Callable[[], object]) -> None:
        with self._lock:
            self._run = _Run(due=self.clock() + self.after, record=record)
            # Started in the process that runs tasks (a pool child, after the fork), once.
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._watch, name="started-later", daemon=True
                )
                self._thread.start()

    def settle(self) -> None:
        with self._lock:
            self._run = None
            while self._recording:
                self._lock.wait()

    def look(self) -> None:
        """What the watcher does every ``tick``: record the run if it is due."""
        with self._lock:
            run = self._run
            if run is None or self.clock() < run.due:
                return
            self._run = None
            self._recording = True
        try:
            run.record()
        except Exception:  # a lost STARTED only shows the run as queued
            logger.warning("Could not record STARTED for the running task", exc_info=True)
        finally:
            with self._lock:
                self._recording = False
                self._lock.notify_all()

    def _watch(self) -> None:
        while True:
            time.sleep(self.tick)
            self.look()
