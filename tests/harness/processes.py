"""Real worker processes, started from each system's own environment and always stopped.

Each process runs in its own session (process group), so stopping it takes its pool children
too; a process still alive after the grace period is killed. Output goes to a log file that a
failing test prints.
"""

import contextlib
import json
import os
import signal
import subprocess
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.waiting import wait_for

REPO = Path(__file__).resolve().parents[2]
SYSTEM_A = REPO / "system_a"
SYSTEM_B = REPO / "system_b"
SYSTEM_C = REPO / "tests" / "system_c"
A_BIN = SYSTEM_A / ".venv" / "bin"
B_BIN = SYSTEM_B / ".venv" / "bin"
C_BIN = SYSTEM_C / ".venv" / "bin"
TESTS_BIN = REPO / "tests" / ".venv" / "bin"
"""The cross-system tests' own environment (tests/pyproject.toml): the test tools live here."""

READY_TIMEOUT_S = 60
STOP_GRACE_S = 15


def run_json(
    argv: Sequence[str],
    *,
    cwd: Path | str,
    env: Mapping[str, str] | None = None,
    timeout: float = 60,
) -> Any:
    """Run ``argv`` to completion (raising if it fails) and parse what it printed as JSON: how
    a test or the bench asks another environment a question."""
    out = subprocess.run(
        list(argv), cwd=cwd, env=env, capture_output=True, text=True, check=True, timeout=timeout
    ).stdout
    return json.loads(out)


@dataclass
class ManagedProcess:
    name: str
    argv: Sequence[str]
    cwd: Path
    env: Mapping[str, str]
    log_path: Path
    ready_marker: str | None = None
    stop_signal: signal.Signals = signal.SIGTERM
    """What asks the process to stop; SIGKILL follows after the grace period."""
    popen: subprocess.Popen[bytes] | None = field(default=None, init=False)

    def start(self) -> "ManagedProcess":
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        try:
            self.popen = subprocess.Popen(
                list(self.argv),
                cwd=self.cwd,
                env=dict(self.env),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            log.close()
        if self.ready_marker:
            marker = self.ready_marker
            wait_for(
                lambda: self._exited_early() or marker in self.log(),
                timeout=READY_TIMEOUT_S,
                what=f"{self.name} to be ready",
                describe=self.tail,
            )
            if self._exited_early():
                raise RuntimeError(
                    f"{self.name} exited with {self.popen.returncode}:\n{self.tail()}"
                )
        return self

    def _exited_early(self) -> bool:
        return self.popen is not None and self.popen.poll() is not None

    @property
    def pid(self) -> int:
        assert self.popen is not None, f"{self.name} was never started"
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    def signal_group(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, sig)

    def stop(self) -> None:
        """Signal the whole process group, wait, then KILL whatever is left. Idempotent."""
        if self.popen is None:
            return
        if self.popen.poll() is None:
            self.signal_group(self.stop_signal)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=STOP_GRACE_S)
        # Pool children can outlive their parent for a moment: sweep the group either way.
        self.signal_group(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=STOP_GRACE_S)


def celery_worker(
    *,
    system: str,
    env: Mapping[str, str],
    log_dir: Path,
    queues: str,
    app: str | None = None,
    concurrency: int = 2,
    pool: str = "prefork",
    extra: Sequence[str] = (),
) -> ManagedProcess:
    """A Celery worker of ``system`` ("a", "b", or the test suite's third caller "c"), from
    that system's own environment.

    B's and C's workers run from a scratch directory, so nothing of the repository (System A
    included) is importable except what their environment installed.
    """
    if system == "a":
        binary, cwd, default_app = A_BIN / "celery", SYSTEM_A, "config"
    elif system == "b":
        binary, cwd, default_app = B_BIN / "celery", log_dir, "system_b.celery_app"
    elif system == "c":
        binary, cwd, default_app = C_BIN / "celery", log_dir, "system_c.celery_app"
    else:
        raise ValueError(f"unknown system {system!r}")
    name = f"{system}-{uuid.uuid4().hex[:8]}"
    return worker_process(
        name=name,
        command=[str(binary)],
        app=app or default_app,
        queues=queues,
        cwd=cwd,
        env=env,
        log_path=log_dir / f"worker-{name}.log",
        concurrency=concurrency,
        pool=pool,
        extra=extra,
    )


def worker_process(
    *,
    name: str,
    command: Sequence[str],
    app: str,
    queues: str,
    cwd: Path,
    env: Mapping[str, str],
    log_path: Path,
    concurrency: int = 2,
    pool: str = "prefork",
    extra: Sequence[str] = (),
) -> ManagedProcess:
    """``command -A app worker`` (``command``: a ``celery`` script, or ``python -m celery``)
    with the options every worker of the tests, the bench and the behaviour suite uses: its own
    host name, only the given queues, no mingle or gossip with other workers."""
    return ManagedProcess(
        name=f"worker {name}",
        argv=[
            *command,
            "-A",
            app,
            "worker",
            "--hostname",
            f"{name}@%h",
            "--queues",
            queues,
            "--pool",
            pool,
            "--concurrency",
            str(concurrency),
            "--loglevel",
            "INFO",
            "--without-mingle",
            "--without-gossip",
            *extra,
        ],
        cwd=cwd,
        env=env,
        log_path=log_path,
        # Celery logs "<name>@<host> ready." once it consumes; the banner names it earlier.
        ready_marker=" ready.",
    )
