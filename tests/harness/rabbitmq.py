"""A RabbitMQ virtual host of its own for each test run.

Queues in a fresh vhost start empty and vanish with it, so a run never consumes a message left
by an earlier one (or by the demo), and two runs on one machine never see each other's work.
Uses ``rabbitmqctl`` on the machine; set CROSSLINK_TEST_BROKER_URL to use a broker you manage.
"""

import os
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote, urlsplit, urlunsplit

RABBITMQCTL_TIMEOUT_S = 60


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(
        ["rabbitmqctl", "--quiet", *args],
        check=True,
        capture_output=True,
        timeout=RABBITMQCTL_TIMEOUT_S,
    )


def with_vhost(url: str, vhost: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + quote(vhost, safe="")))


@contextmanager
def throwaway_vhost(base_url: str, *, prefix: str = "crosslink-test") -> Iterator[str]:
    """Yield a broker URL on a new vhost; delete the vhost (and every queue in it) afterwards."""
    if override := os.environ.get("CROSSLINK_TEST_BROKER_URL"):
        yield override
        return
    vhost = f"{prefix}-{uuid.uuid4().hex[:12]}"
    user = urlsplit(base_url).username or "guest"
    _rabbitmqctl("add_vhost", vhost)
    try:
        _rabbitmqctl("set_permissions", "-p", vhost, user, ".*", ".*", ".*")
        yield with_vhost(base_url, vhost)
    finally:
        _rabbitmqctl("delete_vhost", vhost)
