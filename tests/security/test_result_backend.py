"""Every read of the result backend validates what it finds and degrades: a bad value there
shows "unknown", never a 500.

The attack: anyone able to write to Redis stores a malformed PROGRESS meta for a running
task. Before, ``/``, ``/files/rows/`` and ``GET /api/files/`` answered 500 for its owner."""

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from files import sweeper
from files.models import File

MakeFile = Callable[..., File]
StoreMeta = Callable[[str, dict[str, Any] | bytes], None]

NEGATIVE = {"bytes_read": -1, "bytes_total": 1, "rows": 0}
MALFORMED = [
    pytest.param({"status": "PROGRESS", "result": {"bytes_read": "lots"}}, id="bad-progress"),
    pytest.param({"status": "PROGRESS", "result": ["not", "a", "dict"]}, id="progress-list"),
    pytest.param({"status": "PROGRESS", "result": NEGATIVE}, id="negative"),
    pytest.param({"status": 42, "result": None}, id="state-not-text"),
    pytest.param({"status": "PWNED", "result": None}, id="unknown-state"),
    # Celery counts the KeyError of a meta without a status as a connection error and, with
    # result_backend_always_retry, retried it for minutes inside the request.
    pytest.param({"result": None}, id="no-state"),
    pytest.param(b"\x80\x04 not json", id="not-json"),
    pytest.param(b"[1, 2]", id="json-list"),
]
REQUEST_DEADLINE_S = 5


@pytest.mark.parametrize("meta", MALFORMED)
def test_a_malformed_backend_value_shows_unknown_on_every_page_and_in_the_api(
    meta: dict[str, Any] | bytes,
    processing_file: MakeFile,
    logged_in: Client,
    user: User,
    stored_meta: StoreMeta,
) -> None:
    file = processing_file()
    stored_meta(
        file.task_id, meta if isinstance(meta, bytes) else {"task_id": file.task_id, **meta}
    )
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")

    started = time.monotonic()
    page = logged_in.get(reverse("files:list"))
    rows = logged_in.get(reverse("files:rows"))
    listed = api.get(reverse("api:file-list"))
    detail = api.get(reverse("api:file-detail", args=[file.pk]))

    assert time.monotonic() - started < REQUEST_DEADLINE_S
    assert page.status_code == 200
    assert rows.status_code == 200
    assert "unknown" in rows.content.decode()
    assert listed.status_code == 200
    assert detail.status_code == 200
    assert detail.json()["progress"] == {
        "state": "UNKNOWN",
        "label": "unknown",
        "percent": None,
        "rows": None,
    }


def test_a_well_formed_progress_is_still_shown(
    processing_file: MakeFile, logged_in: Client, stored_meta: StoreMeta
) -> None:
    file = processing_file()
    stored_meta(
        file.task_id,
        {
            "task_id": file.task_id,
            "status": "PROGRESS",
            "result": {"bytes_read": 1, "bytes_total": 2, "rows": 1500},
        },
    )

    assert "running, 50% (1,500 rows)" in logged_in.get(reverse("files:rows")).content.decode()


@pytest.mark.parametrize("meta", MALFORMED)
def test_the_sweeper_treats_a_malformed_backend_value_as_no_outcome_and_gives_up_in_time(
    meta: dict[str, Any] | bytes, processing_file: MakeFile, stored_meta: StoreMeta
) -> None:
    file = processing_file()
    stored_meta(
        file.task_id, meta if isinstance(meta, bytes) else {"task_id": file.task_id, **meta}
    )
    File.objects.filter(pk=file.pk).update(dispatched_at=timezone.now() - timedelta(days=1))

    started = time.monotonic()
    report = sweeper.file_sweep(now=timezone.now(), policy=sweeper.SweepPolicy.from_settings())

    assert time.monotonic() - started < REQUEST_DEADLINE_S
    # Not "unreadable" for ever: given up at the deadline, as the policy says (fail or retry).
    assert report.unreadable == []
    assert file.pk in report.timed_out + report.retried
