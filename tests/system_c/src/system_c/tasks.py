"""C's callbacks. Idempotent: each writes the same file for the same reference, atomically."""

import json
import os
from pathlib import Path
from typing import Any

from celery import Task

from shared_schema.errors import ProcessingError
from shared_schema.payloads import ProcessingResult
from shared_schema.wire import failure_read
from system_c.celery_app import app


def heard(ref: str, what: dict[str, Any]) -> None:
    inbox = Path(os.environ["CROSSLINK_SYSTEM_C_INBOX"])
    tmp = inbox / f".{ref}.tmp"
    tmp.write_text(json.dumps(what))
    tmp.replace(inbox / f"{ref}.json")


@app.task(name="system_c.processed", bind=True, ignore_result=True)
def processed(self: Task[Any, Any], result: Any, *, ref: str) -> None:
    summary = ProcessingResult.model_validate(result)
    heard(ref, {"outcome": "success", "result": summary.model_dump(mode="json")})


@app.task(name="system_c.failed", bind=True, ignore_result=True)
def failed(self: Task[Any, Any], failed_task_id: str, *, ref: str) -> None:
    outcome = failure_read(self.app, failed_task_id)
    if not isinstance(outcome, ProcessingError):  # the wire's failure: C would reconcile later
        heard(ref, {"outcome": "unknown", "reason": outcome.reason})
        return
    heard(
        ref,
        {
            "outcome": "error",
            "failed_task_id": failed_task_id,
            "class": f"{type(outcome).__module__}.{type(outcome).__qualname__}",
            "code": outcome.code.value,
            "message": outcome.message,
        },
    )
