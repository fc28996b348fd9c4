"""One reader over one file, timed in a process of its own, so that one measurement's memory
never inflates another's. Standard library only: System B's environment and the bench-only one
(bench/.venv) both use it."""

import json
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
MB = 1024 * 1024


def measure(path: Path, read: Callable[[], dict[str, Any] | None]) -> dict[str, Any]:
    """``read()``'s own findings, with its seconds, MB/s over ``path`` and the peak RSS."""
    started = time.perf_counter()
    found = read() or {}
    seconds = time.perf_counter() - started
    return {
        **found,
        "seconds": seconds,
        "mb_per_s": path.stat().st_size / MB / seconds,
        # Linux reports ru_maxrss in KiB.
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def in_fresh_process(module: str, what: str, path: Path) -> dict[str, Any]:
    """``python -m module --measure what path`` with this interpreter, and the JSON it prints."""
    out = subprocess.run(
        [sys.executable, "-m", module, "--measure", what, str(path)],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
        timeout=1800,
    ).stdout
    result: dict[str, Any] = json.loads(out)
    return result
