import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from pytest_django import DjangoCaptureOnCommitCallbacks
from pytest_django import Settings as SettingsWrapper
from rest_framework.test import APIClient

from files.models import File
from files.uploads import MULTIPART_OVERHEAD_BYTES
from shared_schema.errors import ErrorCode
from shared_schema.payloads import PROGRESS_STATE

from .conftest import GOOD_CSV, PASSWORD, a_result, csv_upload, fail, succeed

MakeFile = Callable[..., File]
FILES = reverse("api:file-list")


def detail(pk: int) -> str:
    return reverse("api:file-detail", args=[pk])


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    """A 4xx with a JSON body saying what was wrong."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    assert body["detail"]
    return body


@pytest.mark.django_db
def test_without_credentials_the_api_answers_401_naming_the_token_scheme() -> None:
    response = APIClient().get(FILES)

    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Token"


def test_a_token_is_issued_for_a_username_and_password(user: User) -> None:
    client = APIClient()
    token = client.post(reverse("api:token"), {"username": "ada", "password": PASSWORD}).json()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token['token']}")

    assert client.get(FILES).status_code == 200


def test_the_logged_in_session_works_for_the_api_with_its_csrf_token(
    user: User, storage_root: Path
) -> None:
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)

    assert client.get(FILES).status_code == 200
    assert_error(client.post(FILES, {"file": csv_upload()}), 403, "permission_denied")


def test_an_upload_is_stored_for_its_owner_and_described(
    api: APIClient, user: User, storage_root: Path
) -> None:
    response = api.post(FILES, {"file": csv_upload()}, format="multipart")

    assert response.status_code == 201, response.content
    body = response.json()
    file = File.objects.get()
    assert file.owner == user
    assert (storage_root / file.storage_key).read_bytes() == GOOD_CSV
    assert body["id"] == file.pk
    assert (body["name"], body["status"], body["size_bytes"]) == (
        "people.csv",
        "PROCESSING",
        len(GOOD_CSV),
    )
    assert response["Location"] == body["links"]["detail"]
    assert body["links"]["detail"].endswith(detail(file.pk))


def test_an_upload_without_a_file_is_400_naming_the_field(api: APIClient) -> None:
    body = assert_error(api.post(FILES, {}, format="multipart"), 400, "invalid")

    assert "file" in body["errors"]
    assert not File.objects.exists()


def test_an_empty_upload_is_400_saying_so_in_its_detail(api: APIClient, storage_root: Path) -> None:
    body = assert_error(api.post(FILES, {"file": csv_upload(b"")}), 400, "invalid")

    assert "empty" in body["errors"]["file"][0]
    assert body["detail"] == "The submitted file is empty."


def test_an_upload_over_the_limit_is_413_and_nothing_is_stored(
    api: APIClient, storage_root: Path, settings: SettingsWrapper
) -> None:
    settings.MAX_UPLOAD_BYTES = 5

    body = assert_error(api.post(FILES, {"file": csv_upload()}), 413, "file_too_large")

    assert "the limit is 5 bytes" in body["detail"]
    assert not File.objects.exists()
    assert not any(storage_root.rglob("*.*"))


def test_a_body_declared_over_the_limit_is_413_before_it_is_read(
    api: APIClient, storage_root: Path, settings: SettingsWrapper
) -> None:
    settings.MAX_UPLOAD_BYTES = 1000
    big = csv_upload(b"a\n" + b"1\n" * (MULTIPART_OVERHEAD_BYTES + 1000))

    assert_error(api.post(FILES, {"file": big}), 413, "file_too_large")
    assert not File.objects.exists()


def test_the_list_holds_only_the_users_own_files(
    api: APIClient, processing_file: MakeFile, other_user: User
) -> None:
    mine = processing_file(task_id="mine")
    processing_file(task_id="theirs", owner=other_user)

    body = api.get(FILES).json()

    assert body["count"] == 1
    assert [item["id"] for item in body["results"]] == [mine.pk]


def test_another_users_file_is_404_for_detail_retry_and_download(
    api: APIClient, processing_file: MakeFile, other_user: User
) -> None:
    theirs = fail(processing_file(owner=other_user))

    for response in (
        api.get(detail(theirs.pk)),
        api.post(reverse("api:file-retry", args=[theirs.pk])),
        api.get(reverse("api:file-download", args=[theirs.pk])),
    ):
        assert_error(response, 404, "not_found")
    assert File.objects.get(pk=theirs.pk).status == File.Status.FAILED


def test_an_unknown_id_is_a_json_404_even_when_it_is_not_a_number(api: APIClient) -> None:
    assert_error(api.get(detail(999_999)), 404, "not_found")
    assert_error(api.get("/api/files/abc/"), 404, "not_found")


def test_detail_of_a_processing_file_carries_its_progress(
    api: APIClient, processing_file: MakeFile, task_state: Callable[..., str]
) -> None:
    task_id = task_state(PROGRESS_STATE, {"bytes_read": 1, "bytes_total": 2, "rows": 10})
    file = processing_file(task_id=task_id)

    body = api.get(detail(file.pk)).json()

    assert body["status"] == "PROCESSING"
    assert body["progress"] == {
        "state": "PROGRESS",
        "label": "running, 50% (10 rows)",
        "percent": 50,
        "rows": 10,
    }
    assert body["summary"] is None
    assert body["error"] is None


def test_detail_of_a_processed_file_carries_the_summary_with_types(
    api: APIClient, processing_file: MakeFile
) -> None:
    file = succeed(processing_file())

    body = api.get(detail(file.pk)).json()

    assert body["status"] == "SUCCESS"
    assert body["progress"] is None
    assert body["summary"]["rows"] == 2
    assert body["summary"]["columns"] == [
        {"name": "id", "type": "integer", "nulls": 0, "min": 1.0, "max": 2.0},
        {"name": "name", "type": "string", "nulls": 0, "min": None, "max": None},
    ]
    assert body["summary"]["has_output"] is False


def test_detail_of_a_failed_file_carries_the_code_message_and_hint(
    api: APIClient, processing_file: MakeFile
) -> None:
    file = fail(processing_file())

    error = api.get(detail(file.pk)).json()["error"]

    assert error["code"] == "inconsistent_rows"
    assert error["message"] == "Line 9 is short."
    assert "as many fields as the header" in error["hint"]


def test_retrying_a_file_failed_by_the_system_is_202_with_a_new_pending_attempt(
    api: APIClient,
    processing_file: MakeFile,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    file = fail(processing_file(), code=ErrorCode.STORAGE_UNAVAILABLE)

    with django_capture_on_commit_callbacks() as callbacks:
        response = api.post(reverse("api:file-retry", args=[file.pk]))

    assert response.status_code == 202
    assert response.json()["status"] == "PENDING"
    assert response.json()["retrying"] is True
    assert response.json()["error"] is None
    assert len(callbacks) == 1  # the new attempt is sent once this commits


@pytest.mark.parametrize("finish", [None, succeed])
def test_retrying_a_file_that_is_not_failed_is_409(
    api: APIClient, processing_file: MakeFile, finish: Callable[[File], File] | None
) -> None:
    file = processing_file()
    if finish:
        file = finish(file)

    body = assert_error(api.post(reverse("api:file-retry", args=[file.pk])), 409, "not_failed")

    assert "only failed files can be retried" in body["detail"]
    assert File.objects.get(pk=file.pk).status == file.status


def test_the_normalized_output_downloads_whatever_the_client_accepts(
    api: APIClient, processing_file: MakeFile, storage_root: Path
) -> None:
    (storage_root / "outputs").mkdir()
    (storage_root / "outputs" / "x.csv").write_bytes(b"id\n1\n")
    file = succeed(processing_file(), output_key="outputs/x.csv")
    url = reverse("api:file-download", args=[file.pk])

    assert api.get(detail(file.pk)).json()["summary"]["has_output"] is True
    for accept in ("*/*", "text/csv", "application/json"):
        response = api.get(url, HTTP_ACCEPT=accept)
        assert response.status_code == 200, accept
        assert b"".join(response.streaming_content) == b"id\n1\n"  # type: ignore[attr-defined]


def test_a_file_without_output_is_404_on_download(
    api: APIClient, processing_file: MakeFile
) -> None:
    pending = processing_file()
    done = succeed(processing_file(task_id="t2"))

    for file in (pending, done):
        assert_error(api.get(reverse("api:file-download", args=[file.pk])), 404, "no_output")


@pytest.mark.django_db
def test_the_openapi_schema_is_served_to_anyone() -> None:
    response = APIClient().get(
        reverse("api:schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json"
    )

    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert {"/api/files/", "/api/files/{id}/", "/api/files/{id}/retry/"} <= set(schema["paths"])
    assert "/api/files/{id}/download/" in schema["paths"]


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [True, False])
def test_an_address_under_api_that_matches_nothing_is_a_json_404(
    settings: SettingsWrapper, debug: bool
) -> None:
    settings.DEBUG = debug

    assert_error(APIClient().get("/api/nothing/here/"), 404, "not_found")


def test_detail_carries_everything_system_b_computed(
    api: APIClient, processing_file: MakeFile
) -> None:
    file = succeed(processing_file())

    summary = api.get(detail(file.pk)).json()["summary"]

    assert summary["sample_rows"] == [["1", "ada"], ["2", "grace"]]
    assert (summary["encoding"], summary["delimiter"], summary["compression"]) == (
        "utf-8",
        ",",
        None,
    )
    assert summary["size_bytes"] == len(GOOD_CSV)
    assert summary["sha256"] == "0" * 64
    assert summary["output_format"] == "csv"
    assert summary["started_at"].startswith("2026-12-01T10:00:00")
    assert summary["finished_at"].startswith("2026-12-01T10:00:02")


def test_detail_carries_each_attempt_and_the_history_of_its_transitions(
    api: APIClient,
    user: User,
    storage_root: Path,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    from files import services

    with django_capture_on_commit_callbacks():  # nothing is sent: the test plays B's part
        created = api.post(FILES, {"file": csv_upload()}, format="multipart").json()
    file = File.objects.get(pk=created["id"])
    first = file.task_id
    services.file_mark_failed(
        file_id=file.pk, task_id=first, code=ErrorCode.PROCESSING_TIMEOUT, message="slow"
    )
    with django_capture_on_commit_callbacks():
        api.post(reverse("api:file-retry", args=[file.pk]))
    # A late success of the first attempt changes nothing, and the history says so.
    services.file_mark_succeeded(file_id=file.pk, task_id=first, result=a_result(file))

    body = api.get(detail(file.pk)).json()

    assert body["created_at"] == body["dispatched_at"]
    kinds = [(e["kind"], e["task_id"] == first) for e in body["history"]]
    assert kinds == [
        ("uploaded", False),
        ("sent", True),
        ("failed", True),
        ("retry_requested", True),
        ("ignored", True),
    ]
    assert body["history"][2]["detail"] == "processing_timeout: slow"
    assert body["history"][2]["source"] == "callback"
    [attempt] = body["attempt_list"]
    assert (attempt["number"], attempt["task_id"], attempt["outcome"]) == (1, first, "failed")
    assert attempt["seconds"] is not None


@pytest.mark.parametrize("code", [ErrorCode.INCONSISTENT_ROWS, ErrorCode.EMPTY_FILE])
def test_retrying_a_file_with_its_own_error_is_409_saying_to_upload_a_fixed_file(
    api: APIClient, processing_file: MakeFile, code: ErrorCode
) -> None:
    file = fail(processing_file(), code=code)

    body = assert_error(
        api.post(reverse("api:file-retry", args=[file.pk])), 409, "retry_will_not_help"
    )

    assert "upload it again" in body["detail"]
    assert api.get(detail(file.pk)).json()["error"]["retry_helps"] is False
    assert File.objects.get(pk=file.pk).status == File.Status.FAILED


def test_deleting_a_finished_file_removes_its_record_upload_and_output(
    api: APIClient,
    processing_file: MakeFile,
    storage_root: Path,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    (storage_root / "outputs").mkdir()
    (storage_root / "outputs" / "x.csv").write_bytes(b"id\n1\n")
    file = succeed(processing_file(), output_key="outputs/x.csv")

    with django_capture_on_commit_callbacks(execute=True):
        response = api.delete(detail(file.pk))

    assert response.status_code == 204
    assert not File.objects.filter(pk=file.pk).exists()
    assert not (storage_root / file.storage_key).exists()
    assert not (storage_root / "outputs" / "x.csv").exists()
    assert_error(api.get(detail(file.pk)), 404, "not_found")


def test_a_file_still_processing_cannot_be_deleted_nor_another_users_file(
    api: APIClient, processing_file: MakeFile, other_user: User, storage_root: Path
) -> None:
    running = processing_file()
    theirs = fail(processing_file(task_id="t2", owner=other_user))

    assert_error(api.delete(detail(running.pk)), 409, "not_finished")
    assert_error(api.delete(detail(theirs.pk)), 404, "not_found")
    assert File.objects.count() == 2
    assert (storage_root / running.storage_key).exists()


def test_the_list_is_searched_by_name_filtered_by_status_and_paged(
    api: APIClient, processing_file: MakeFile
) -> None:
    for n in range(5):
        file = processing_file(task_id=f"t{n}")
        File.objects.filter(pk=file.pk).update(original_name=f"report-{n}.csv")
    fail(File.objects.get(original_name="report-3.csv"))
    other = processing_file(task_id="x")
    File.objects.filter(pk=other.pk).update(original_name="Other.CSV")

    def names(**query: str) -> list[str]:
        body = api.get(FILES, query).json()
        return [item["name"] for item in body["results"]]

    assert names(search="other") == ["Other.CSV"]
    assert names(status="FAILED") == ["report-3.csv"]
    assert names(search="report", status="PROCESSING") == [
        "report-4.csv",
        "report-2.csv",
        "report-1.csv",
        "report-0.csv",
    ]
    page = api.get(FILES, {"search": "report", "page_size": "2", "page": "2"}).json()
    assert page["count"] == 5
    assert [item["name"] for item in page["results"]] == ["report-2.csv", "report-1.csv"]
    assert page["next"]
    assert page["previous"]
    assert_error(api.get(FILES, {"status": "LOST"}), 400, "invalid")
    assert_error(api.get(FILES, {"page": "99"}), 404, "not_found")


@pytest.mark.django_db
def test_the_schema_names_the_lists_query_parameters_and_delete() -> None:
    schema = (
        APIClient()
        .get(reverse("api:schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json")
        .json()
    )

    parameters = {p["name"] for p in schema["paths"]["/api/files/"]["get"]["parameters"]}
    assert {"search", "status", "page", "page_size"} <= parameters
    assert "delete" in schema["paths"]["/api/files/{id}/"]


@pytest.mark.django_db
def test_the_api_page_serves_swagger_ui_and_its_assets_from_this_server() -> None:
    page = APIClient().get(reverse("api:docs"))

    assert page.status_code == 200
    html = page.content.decode()
    assert "swagger-ui" in html
    assert "//" not in html.split("swagger-ui-bundle.js")[0].rsplit('"', 1)[-1]
    assets = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', html)
    assert assets
    for asset in assets:
        assert APIClient().get(asset).status_code == 200, asset
