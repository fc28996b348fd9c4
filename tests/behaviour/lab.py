"""A remote worker and a caller worker from separate code, on a vhost of their own.

The remote worker imports only ``apps/remote`` (plus the shared contract and the probe), the
caller worker only ``apps/caller``: neither can import the other's tasks, which is the whole
point. Each scenario sends to queues named for it, tags every callback with a run tag, and reads
what happened from the probe's event list in Redis.
"""

import contextlib
import json
import os
import signal
import uuid
from collections.abc import Callable, Iterable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import redis
from celery import Celery, Signature
from celery.backends.redis import RedisBackend

from harness.processes import ManagedProcess, worker_process
from harness.rabbitmq import throwaway_vhost
from harness.waiting import DeadlineExceeded, wait_for

APPS = Path(__file__).resolve().parent / "apps"
SHARED_DIRS = (APPS / "contract", APPS / "probe")
REMOTE_DIRS = (APPS / "remote", *SHARED_DIRS)
CALLER_DIRS = (APPS / "caller", *SHARED_DIRS)

REMOTE_DEFAULT_QUEUE = "behaviour.remote.default"
CALLER_DEFAULT_QUEUE = "behaviour.caller.default"

_NOT_INHERITED = ("PYTEST_", "VIRTUAL_ENV", "DJANGO_", "PYTHON")

ARRIVAL_TIMEOUT_S = 30
"""How long a scenario waits for something that should happen (a callback, a failure)."""

QUIET_WINDOW_S = 1.5
"""How long a scenario keeps watching, after its barriers, for something that must not happen.

Links and errbacks are published by the remote worker before its task_failure/task_success
signal fires (``backends/base.py`` ``mark_as_failure`` calls the errbacks first), and each queue
is FIFO: once a barrier task sent later has run on the caller, any callback ahead of it was
delivered. The window only covers a callback still running in the other pool process.
"""


def remote_queue(scenario: str) -> str:
    return f"behaviour.remote.{scenario}"


def caller_queue(scenario: str) -> str:
    return f"behaviour.caller.{scenario}"


class DriverBackend(RedisBackend):
    """Redis, without subscribing to the results of what the runner sends.

    The runner reads states and never waits on a result. The stock backend subscribes to each
    sent task's channel (and a group's members', for a chord) and unsubscribes when the
    AsyncResult is collected, which at interpreter exit fails noisily.
    """

    def on_task_call(self, producer: Any, task_id: str) -> None:
        return None

    def add_pending_result(self, result: Any, weak: bool = False, **kwargs: Any) -> Any:
        return result


@dataclass(frozen=True)
class Pythons:
    """The interpreters of the two code bases (each with its own Celery)."""

    remote: Path
    caller: Path


def celery_version(python: Path) -> str:
    import subprocess

    out = subprocess.run(
        [str(python), "-c", "import celery; print(celery.__version__)"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return out.stdout.strip()


@dataclass
class Lab:
    pythons: Pythons
    scenario_ids: Iterable[str]
    work_dir: Path
    broker_url: str = field(
        default_factory=lambda: os.environ.get(
            "CELERY_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//"
        )
    )
    backend_url: str = field(
        default_factory=lambda: os.environ.get("CELERY_RESULT_BACKEND", "redis://127.0.0.1:6379/0")
    )
    events_key: str = field(default_factory=lambda: f"crosslink-behaviour:{uuid.uuid4().hex}")
    _stack: ExitStack = field(default_factory=ExitStack)
    remote: ManagedProcess | None = None
    caller: ManagedProcess | None = None
    vhost_url: str = ""

    # --- life cycle ---------------------------------------------------------------------------

    def __enter__(self) -> "Lab":
        try:
            self.vhost_url = self._stack.enter_context(
                throwaway_vhost(self.broker_url, prefix="crosslink-behaviour")
            )
            self.redis = redis.Redis.from_url(self.backend_url)
            self._stack.callback(self.redis.delete, self.events_key)
            # Not the process's current app: under pytest the lab is a guest in a process whose
            # other tests mean A's app by current_app (and this one's pools die with the lab).
            self.app = Celery("behaviour_driver", broker=self.vhost_url, set_as_current=False)
            self.app.backend_cls = f"behaviour.lab:DriverBackend+{self.backend_url}"
            self.app.conf.update(
                # CELERY_BROKER_URL in the environment wins over broker_url (make exports it);
                # the read/write URLs win over both, so nothing of this run leaves its vhost.
                broker_read_url=self.vhost_url,
                broker_write_url=self.vhost_url,
                accept_content=["json"],
                result_accept_content=["json"],
                task_serializer="json",
                result_serializer="json",
                task_default_queue=CALLER_DEFAULT_QUEUE,
                # Exactly what the caller system would do: route its own tasks home. The remote
                # worker never sees these routes (scenario 1).
                task_routes={"caller.*": {"queue": CALLER_DEFAULT_QUEUE}},
            )
            self._stack.callback(self.app.close)
            self.remote = self._start("remote")
            self.caller = self._start("caller")
            self._smoke_check()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def _start(self, side: str) -> ManagedProcess:
        ids = list(self.scenario_ids)
        if side == "remote":
            python, dirs, module = self.pythons.remote, REMOTE_DIRS, "bh_remote.app"
            queues = [REMOTE_DEFAULT_QUEUE, *map(remote_queue, ids)]
        else:
            python, dirs, module = self.pythons.caller, CALLER_DIRS, "bh_caller.app"
            queues = [CALLER_DEFAULT_QUEUE, *map(caller_queue, ids)]
        name = f"{side}-{uuid.uuid4().hex[:8]}"
        # A scratch working directory and a PYTHONPATH of this side's directories only: the
        # other side's tasks cannot be imported, whatever the interpreter has installed.
        cwd = self.work_dir / name
        cwd.mkdir(parents=True, exist_ok=True)
        env = {
            # Nothing of the runner's own setup: DJANGO_SETTINGS_MODULE (set under pytest) would
            # switch on Celery's Django fix-up in the caller worker.
            **{k: v for k, v in os.environ.items() if not k.startswith(_NOT_INHERITED)},
            "PYTHONPATH": os.pathsep.join(map(str, dirs)),
            "PYTHONUNBUFFERED": "1",
            "CELERY_BROKER_URL": self.vhost_url,
            "CELERY_RESULT_BACKEND": self.backend_url,
            "BEHAVIOUR_REDIS_URL": self.backend_url,
            "BEHAVIOUR_EVENTS_KEY": self.events_key,
            "BEHAVIOUR_SIDE": side,
        }
        process = worker_process(
            name=name,
            command=[str(python), "-m", "celery"],
            app=module,
            queues=",".join(queues),
            cwd=cwd,
            env=env,
            log_path=cwd / "worker.log",
            extra=["--without-heartbeat"],
        )
        self._stack.callback(process.stop)
        return process.start()

    def _smoke_check(self) -> None:
        """Fail at once, not scenario by scenario, if either worker does not get messages."""
        tag = f"smoke-{uuid.uuid4().hex[:8]}"
        self.app.send_task(
            "remote.add", args=(0, 0), task_id=f"{tag}-r", queue=REMOTE_DEFAULT_QUEUE
        )
        self.app.send_task(
            "caller.barrier", kwargs={"tag": tag}, task_id=f"{tag}-c", queue=CALLER_DEFAULT_QUEUE
        )
        self.wait_events(
            tag,
            "both workers to run a task",
            lambda ev: _ran(ev, f"{tag}-r") and _ran(ev, f"{tag}-c"),
        )

    def restart_remote(self) -> None:
        """SIGKILL the whole remote worker (main process and pool), then start a fresh one."""
        assert self.remote is not None
        self.remote.signal_group(signal.SIGKILL)
        self.remote.stop()
        self.remote = self._start("remote")

    def kill_pool_child(self, pid: int) -> None:
        """SIGKILL one pool process of the remote worker, after checking that it is one."""
        assert self.remote is not None
        children = {p.pid for p in psutil.Process(self.remote.pid).children(recursive=True)}
        if pid not in children:
            raise AssertionError(f"pid {pid} is not a pool process of {self.remote.name}")
        os.kill(pid, signal.SIGKILL)

    # --- sending ------------------------------------------------------------------------------

    def sig(
        self, name: str, *args: Any, queue: str | None, immutable: bool = False, **kwargs: Any
    ) -> Signature:  # type: ignore[type-arg]
        options = {"queue": queue} if queue else {}
        return self.app.signature(
            name, args=args, kwargs=kwargs, immutable=immutable, app=self.app, **options
        )

    def send(
        self,
        name: str,
        *args: Any,
        scenario: str,
        task_id: str,
        link: Any = None,
        link_error: Any = None,
    ) -> None:
        self.app.send_task(
            name,
            args=args,
            task_id=task_id,
            queue=remote_queue(scenario),
            link=link,
            link_error=link_error,
        )

    # --- observing ----------------------------------------------------------------------------

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(raw) for raw in self.redis.lrange(self.events_key, 0, -1)]

    def events_of(self, tag: str) -> list[dict[str, Any]]:
        """Events of one scenario run: tagged with it, or about a task whose id carries it."""
        return [
            e for e in self.events() if e.get("tag") == tag or str(e.get("id", "")).startswith(tag)
        ]

    def wait_events(
        self, tag: str, what: str, probe: Callable[[list[dict[str, Any]]], bool]
    ) -> list[dict[str, Any]]:
        def check() -> list[dict[str, Any]] | None:
            events = self.events_of(tag)
            return events if probe(events) else None

        return wait_for(
            check,
            timeout=ARRIVAL_TIMEOUT_S,
            what=what,
            interval=0.05,
            describe=lambda: self.describe(tag),
        )

    def wait_for(self, probe: Callable[[], object], what: str, tag: str) -> None:
        wait_for(
            probe,
            timeout=ARRIVAL_TIMEOUT_S,
            what=what,
            interval=0.05,
            describe=lambda: self.describe(tag),
        )

    def barrier(self, tag: str, scenario: str, *, remote_too: bool = False) -> None:
        """Run a barrier task through the scenario's caller queue (and its remote queue)."""
        if remote_too:
            self.app.send_task(
                "remote.add", args=(0, 0), task_id=f"{tag}-rbarrier", queue=remote_queue(scenario)
            )
            self.wait_events(tag, "the remote barrier", lambda ev: _ran(ev, f"{tag}-rbarrier"))
        self.app.send_task(
            "caller.barrier",
            kwargs={"tag": tag},
            task_id=f"{tag}-cbarrier",
            queue=caller_queue(scenario),
        )
        self.wait_events(tag, "the caller barrier", lambda ev: _ran(ev, f"{tag}-cbarrier"))

    def quiet(
        self,
        tag: str,
        what: str,
        probe: Callable[[list[dict[str, Any]]], bool],
        *,
        window: float = QUIET_WINDOW_S,
    ) -> None:
        """Watch for ``window`` seconds (a deadline, see QUIET_WINDOW_S), or until ``probe``."""
        with contextlib.suppress(DeadlineExceeded):
            wait_for(lambda: probe(self.events_of(tag)), timeout=window, what=what)

    def remote_log(self) -> list[str]:
        assert self.remote is not None
        return self.remote.log().splitlines()

    def describe(self, tag: str) -> str:
        lines = [json.dumps(e) for e in self.events_of(tag)]
        for process in (self.remote, self.caller):
            if process is not None:
                lines += [f"--- {process.name} ---", process.tail(30)]
        return "\n".join(lines)

    def logs(self) -> Mapping[str, str]:
        return {p.name: p.log() for p in (self.remote, self.caller) if p is not None}


def _ran(events: list[dict[str, Any]], task_id: str) -> bool:
    return any(e["kind"] == "started" and e.get("id") == task_id for e in events)


def started(events: list[dict[str, Any]], task: str) -> list[dict[str, Any]]:
    return [e for e in events if e["kind"] == "started" and e.get("task") == task]


def of_kind(
    events: list[dict[str, Any]], kind: str, task: str | None = None
) -> list[dict[str, Any]]:
    return [e for e in events if e["kind"] == kind and (task is None or e.get("task") == task)]
