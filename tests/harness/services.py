"""Private instances of RabbitMQ, Redis and PostgreSQL on spare ports, for tests that stop them.

The machine's shared services are never stopped, restarted or reconfigured by a test: a fault
test starts its own instance here, breaks that one, and always removes it (process and data
directory) afterwards. Each runs in the foreground as a ManagedProcess, so stopping it is the
same kill-the-process-group as for a worker.
"""

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from harness.ports import free_port
from harness.processes import ManagedProcess
from harness.waiting import wait_for

POSTGRES_BIN = Path(os.environ.get("CROSSLINK_POSTGRES_BIN", "/usr/lib/postgresql/15/bin"))
RABBITMQ_BIN = Path(os.environ.get("CROSSLINK_RABBITMQ_BIN", "/usr/lib/rabbitmq/bin"))
START_TIMEOUT_S = 90


def answers(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        return True
    return False


@dataclass
class Service:
    """One private server process: started, stopped and restarted on the same port and data."""

    name: str
    port: int
    workdir: Path
    process: ManagedProcess | None = field(default=None, init=False)
    start_seconds: list[float] = field(default_factory=list, init=False)
    """How long each start took until the service answered: reported by the chaos summary."""

    def argv(self) -> list[str]:
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        return {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}

    def ready(self) -> bool:
        return answers(self.port)

    stop_signal: ClassVar[signal.Signals] = signal.SIGTERM

    def __post_init__(self) -> None:
        pass

    def start(self) -> None:
        began = time.monotonic()
        self.process = ManagedProcess(
            name=self.name,
            argv=self.argv(),
            cwd=self.workdir,
            env=self.env(),
            log_path=self.workdir / f"{self.name}.log",
            stop_signal=self.stop_signal,
        ).start()
        process = self.process
        wait_for(
            lambda: self.ready() or not process.alive(),
            timeout=START_TIMEOUT_S,
            what=f"{self.name} to accept connections on port {self.port}",
            describe=process.tail,
        )
        if not process.alive():
            raise RuntimeError(f"{self.name} exited:\n{process.tail()}")
        self.start_seconds.append(time.monotonic() - began)

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


class Redis(Service):
    def argv(self) -> list[str]:
        return [
            "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.workdir),
        ]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


def _as_postgres_user(argv: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root; ``setpriv`` drops to its user and execs in place."""
    if os.geteuid() != 0:
        return argv
    return ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", *argv]


class Postgres(Service):
    # SIGINT is PostgreSQL's fast shutdown; SIGTERM would wait for every client to disconnect.
    stop_signal: ClassVar[signal.Signals] = signal.SIGINT

    @property
    def datadir(self) -> Path:
        return self.workdir / "data"

    def initialise(self) -> None:
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.workdir, user.pw_uid, user.pw_gid)
        subprocess.run(
            _as_postgres_user(
                [
                    str(POSTGRES_BIN / "initdb"),
                    "-D",
                    str(self.datadir),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--no-sync",
                ]
            ),
            check=True,
            capture_output=True,
            timeout=120,
        )

    def argv(self) -> list[str]:
        return _as_postgres_user(
            [
                str(POSTGRES_BIN / "postgres"),
                "-D",
                str(self.datadir),
                "-p",
                str(self.port),
                "-k",
                str(self.workdir),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
            ]
        )

    def ready(self) -> bool:
        return (
            subprocess.run(
                [str(POSTGRES_BIN / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port)],
                check=False,
                timeout=10,
            ).returncode
            == 0
        )


class RabbitMQ(Service):
    """A second RabbitMQ node on this machine: its own node name, ports, data and cookie."""

    def __post_init__(self) -> None:
        self.node = f"crosslink-chaos-{uuid.uuid4().hex[:8]}@localhost"
        self.dist_port = free_port()
        (self.workdir / "enabled_plugins").write_text("")

    def env(self) -> dict[str, str]:
        return {
            **super().env(),
            "HOME": str(self.workdir),  # the Erlang cookie is created here, not in ~
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.workdir / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.workdir / "log"),
            "RABBITMQ_PID_FILE": str(self.workdir / "rabbitmq.pid"),
            # No management plugin and no machine-wide config: a bare broker starts in seconds.
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.workdir / "enabled_plugins"),
            "RABBITMQ_CONFIG_FILE": str(self.workdir / "rabbitmq"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.workdir / "advanced.config"),
        }

    def argv(self) -> list[str]:
        return [str(RABBITMQ_BIN / "rabbitmq-server")]

    def ready(self) -> bool:
        if not answers(self.port):
            return False
        from kombu import Connection

        try:
            with Connection(self.url, connect_timeout=2) as connection:
                connection.connect()
        except Exception:  # noqa: BLE001 - not up yet, whatever the reason
            return False
        return True

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}//"


def workdir(prefix: str) -> Path:
    # Under /tmp, not pytest's per-user tmp: PostgreSQL's user must be able to reach it.
    path = Path(tempfile.mkdtemp(prefix=f"crosslink-{prefix}-"))
    path.chmod(0o755)
    return path
