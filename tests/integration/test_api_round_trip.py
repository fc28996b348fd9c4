"""The README's curl walk-through as a test: System A's JSON API on its real web server, with
A's and B's real workers: token, upload, follow, fail, retry, isolation between users."""

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token

from harness.http import Reply, request
from harness.waiting import wait_for

pytestmark = pytest.mark.integration

FINISH_TIMEOUT_S = 60
GOOD_CSV = b"id,name,score\n1,ada,9.5\n2,grace,8.25\n"
BROKEN_CSV = b"a,b\n1\n"

Api = Callable[..., Reply]


def finished(api: Api, file_id: int) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        body: dict[str, Any] = api("GET", f"/api/files/{file_id}/").json()
        return body if body["status"] in ("SUCCESS", "FAILED") else None

    return wait_for(probe, timeout=FINISH_TIMEOUT_S, what=f"file {file_id} to finish")


@pytest.mark.both_stores
def test_a_good_csv_uploaded_through_the_api_ends_success_with_its_summary(api: Api) -> None:
    created = api("POST", "/api/files/", files={"file": ("people.csv", GOOD_CSV)})
    assert created.status == 201, created.body

    body = finished(api, created.json()["id"])

    assert body["status"] == "SUCCESS"
    assert body["summary"]["rows"] == 2
    assert [c["name"] for c in body["summary"]["columns"]] == ["id", "name", "score"]
    assert body["error"] is None
    # Comma-separated UTF-8 already: its own normalized form, served from the store.
    assert body["summary"]["has_output"]
    download = api("GET", f"/api/files/{body['id']}/download/")
    assert download.status == 200, download.body
    assert download.body == GOOD_CSV


@pytest.mark.both_stores
def test_a_broken_csv_fails_with_its_error_and_a_retry_is_refused_as_unhelpful(api: Api) -> None:
    file_id = api("POST", "/api/files/", files={"file": ("broken.csv", BROKEN_CSV)}).json()["id"]

    body = finished(api, file_id)
    assert body["status"] == "FAILED"
    assert body["error"]["code"] == "inconsistent_rows"
    assert "Line 2" in body["error"]["message"]

    # The error is in the file: the same bytes would fail the same way on a new attempt.
    retried = api("POST", f"/api/files/{file_id}/retry/")
    assert retried.status == 409, retried.body
    assert retried.json()["code"] == "retry_will_not_help"
    assert api("GET", f"/api/files/{file_id}/").json()["attempts"] == 1


def test_another_users_token_does_not_see_the_file(api: Api, web: str) -> None:
    file_id = api("POST", "/api/files/", files={"file": ("mine.csv", GOOD_CSV)}).json()["id"]
    grace = User.objects.create_user("grace", password="x" * 20)
    theirs = {"Authorization": f"Token {Token.objects.create(user=grace).key}"}

    assert request("GET", f"{web}/api/files/{file_id}/", headers=theirs).status == 404
    assert request("GET", f"{web}/api/files/", headers=theirs).json()["count"] == 0
