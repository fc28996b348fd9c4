"""Wait for a condition with an explicit deadline: no fixed sleeps anywhere in the tests."""

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class DeadlineExceeded(AssertionError):
    pass


def wait_for(
    probe: Callable[[], T | None],
    *,
    timeout: float,
    what: str,
    interval: float = 0.1,
    describe: Callable[[], str] | None = None,
) -> T:
    """Call ``probe`` until it returns something truthy, or fail after ``timeout`` seconds.

    ``describe`` is called on failure to say what the world looked like instead.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() >= deadline:
            detail = f": {describe()}" if describe else ""
            raise DeadlineExceeded(f"gave up after {timeout:.0f}s waiting for {what}{detail}")
        time.sleep(interval)
