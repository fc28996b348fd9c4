"""A's side of the store: uploads stream in as they arrive, and a store that fails is a 503
with nothing half-stored, on the page and in the API.

The store that fails is real, and needs no server: a directory where the uploads folder cannot
be created, or an S3 location whose endpoint is a port nothing listens on.
"""

import io
import logging
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import IO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http.multipartparser import MultiPartParser
from django.test import Client, RequestFactory
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from django.urls import reverse
from pytest_django import Settings as SettingsWrapper
from pytest_django.fixtures import DjangoCaptureOnCommitCallbacks
from rest_framework.test import APIClient

from files import services
from files.models import File
from files.storage import StoredUpload, storage_save_upload
from files.upload_handler import uploads_to_store
from shared_schema.errors import StorageUnavailable
from tests.conftest import GOOD_CSV, csv_upload, fail, succeed

MakeFile = Callable[..., File]

UNREACHABLE_ENDPOINT = "http://127.0.0.1:1"
"""A port nothing listens on: every request to the store is refused at once."""


@pytest.fixture(autouse=True)
def _db(db: None) -> None:
    """Every test here records (or refuses to record) files."""


@pytest.fixture
def unreachable_store(settings: SettingsWrapper, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point A at object storage that does not answer: real StorageUnavailable, no server."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", UNREACHABLE_ENDPOINT)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "crosslink-test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "crosslink-test-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    # A location of its own: the store (and its client, made with this endpoint) is cached per
    # location and process.
    location = f"s3://crosslink-unit/{uuid.uuid4().hex}"
    settings.STORAGE_ROOT = location
    return location


@pytest.fixture
def unwritable_root(storage_root: Path) -> Path:
    """A directory store whose uploads folder is a plain file: every write there fails with an
    ``OSError``, as on a mount that went away (root ignores permission bits)."""
    (storage_root / "uploads").write_bytes(b"")
    return storage_root


def assert_nothing_stored(root: Path) -> None:
    assert not File.objects.exists()
    assert [path for path in root.rglob("*") if path.name != "uploads"] == []


class Trickle(io.BytesIO):
    """A request body arriving a piece at a time. Before each piece it notes how many bytes of
    the upload the store already holds (the local store's temporary file, beside its final
    name); with ``fail_at`` it breaks off there, as a client that goes away."""

    def __init__(self, body: bytes, *, uploads: Path, piece: int, fail_at: int = -1) -> None:
        super().__init__()
        self.body = io.BytesIO(body)  # read through ``read`` alone
        self.uploads = uploads
        self.piece = piece
        self.fail_at = fail_at
        self.seen: list[tuple[int, int]] = []
        """(bytes of the body read so far, bytes of the upload in the store then)"""

    def read(self, size: int | None = -1) -> bytes:
        position = self.body.tell()
        if position == self.fail_at:
            raise OSError("the client went away")
        stored = sum(path.stat().st_size for path in self.uploads.glob(".*.tmp"))
        self.seen.append((position, stored))
        return self.body.read(
            min(self.piece, size if size is not None and size >= 0 else self.piece)
        )


def parse(body: bytes, stream: IO[bytes]) -> StoredUpload | None:
    """Parse ``stream`` as A's upload routes do, inside ``uploads_to_store``, claiming nothing;
    returns the upload it held."""
    request = RequestFactory().post("/")
    meta = {**request.META, "CONTENT_TYPE": MULTIPART_CONTENT, "CONTENT_LENGTH": str(len(body))}
    with uploads_to_store(request):
        _, files = MultiPartParser(meta, stream, request.upload_handlers).parse()
    upload = files.get("file")
    assert upload is None or isinstance(upload, StoredUpload)
    return upload


def multipart(**fields: object) -> bytes:
    return encode_multipart(BOUNDARY, fields)


# --- Streaming ------------------------------------------------------------------------------


def test_an_upload_reaches_the_store_while_its_body_is_still_arriving(
    storage_root: Path,
) -> None:
    content = b"id,value\n" + b"1,abcdefghijklmnopqrstuvwxyz\n" * (150 * 1024)  # ~4 MiB
    body = multipart(file=SimpleUploadedFile("big.csv", content), note="hello")
    (storage_root / "uploads").mkdir()
    stream = Trickle(body, uploads=storage_root / "uploads", piece=256 * 1024)
    request = RequestFactory().post("/")
    meta = {**request.META, "CONTENT_TYPE": MULTIPART_CONTENT, "CONTENT_LENGTH": str(len(body))}

    with uploads_to_store(request):
        post, files = MultiPartParser(meta, stream, request.upload_handlers).parse()
        upload = files["file"]
        assert isinstance(upload, StoredUpload)
        key = storage_save_upload(upload=upload)

    # Halfway through the body, half the file was already in the store: not spooled first.
    halfway = [stored for read, stored in stream.seen if len(body) // 2 <= read < len(body)]
    assert halfway
    assert halfway[0] >= len(content) // 2 - 2 * 256 * 1024
    assert post["note"] == "hello"
    assert upload.size == len(content)
    assert (storage_root / key).read_bytes() == content
    assert list((storage_root / "uploads").glob(".*")) == []


def test_an_upload_that_nothing_claims_is_deleted_when_the_request_ends(
    storage_root: Path,
) -> None:
    body = multipart(file=csv_upload())

    upload = parse(body, io.BytesIO(body))

    assert upload is not None
    assert upload.key
    assert upload.size == len(GOOD_CSV)
    assert list(storage_root.rglob("*.*")) == []


def test_a_body_broken_off_inside_the_file_leaves_nothing_in_the_store(
    storage_root: Path,
) -> None:
    body = multipart(file=SimpleUploadedFile("big.csv", b"a,b\n" + b"1,2\n" * 200_000))
    (storage_root / "uploads").mkdir()
    stream = Trickle(body, uploads=storage_root / "uploads", piece=64 * 1024, fail_at=8 * 64 * 1024)

    with pytest.raises(OSError, match="went away"):
        parse(body, stream)

    assert max(stored for _, stored in stream.seen) > 0  # it was on its way in
    assert list(storage_root.rglob("*.*")) == []


def test_a_body_that_ends_inside_the_file_leaves_nothing_in_the_store(
    storage_root: Path,
) -> None:
    body = multipart(file=SimpleUploadedFile("big.csv", b"a,b\n" + b"1,2\n" * 100_000))
    cut = body[: len(body) // 2]

    upload = parse(cut, io.BytesIO(cut))

    assert upload is None
    assert list(storage_root.rglob("*.*")) == []


def test_only_the_first_file_of_the_upload_field_is_stored(
    client: Client, storage_root: Path, user: object, settings: SettingsWrapper
) -> None:
    fields = {
        "other": SimpleUploadedFile("other.csv", b"x\n1\n"),
        "file": [csv_upload(name="first.csv"), csv_upload(b"y\n2\n", name="second.csv")],
    }
    client.force_login(user)  # type: ignore[arg-type]

    response = client.post(reverse("files:list"), fields)

    assert response.status_code == 302
    file = File.objects.get()
    assert file.original_name == "first.csv"
    assert [path.relative_to(storage_root).as_posix() for path in storage_root.rglob("*.*")] == [
        file.storage_key
    ]


def test_a_file_over_the_limit_is_counted_but_not_kept_in_the_store(
    storage_root: Path, settings: SettingsWrapper
) -> None:
    settings.MAX_UPLOAD_BYTES = 10
    body = multipart(file=csv_upload())

    upload = parse(body, io.BytesIO(body))

    assert upload is not None
    assert upload.size == len(GOOD_CSV)
    assert upload.key == ""
    assert list(storage_root.rglob("*.*")) == []


def test_an_upload_is_streamed_to_the_store_by_the_page_and_by_the_api(
    logged_in: Client, api: APIClient, storage_root: Path
) -> None:
    page = logged_in.post(reverse("files:list"), {"file": csv_upload(name="page.csv")})
    created = api.post(reverse("api:file-list"), {"file": csv_upload(name="api.csv")})

    assert page.status_code == 302
    assert created.status_code == 201
    stored = {f.original_name: (storage_root / f.storage_key) for f in File.objects.all()}
    assert {name: path.read_bytes() for name, path in stored.items()} == {
        "page.csv": GOOD_CSV,
        "api.csv": GOOD_CSV,
    }
    assert sorted(storage_root.rglob("*.*")) == sorted(stored.values())


# --- The store fails: 503, nothing half-stored ----------------------------------------------


@pytest.mark.parametrize("store", ["unwritable_root", "unreachable_store"])
def test_an_upload_on_the_page_is_503_with_nothing_stored_when_the_store_fails(
    logged_in: Client, storage_root: Path, store: str, request: pytest.FixtureRequest
) -> None:
    request.getfixturevalue(store)

    response = logged_in.post(reverse("files:list"), {"file": csv_upload()})

    assert response.status_code == 503
    page = response.content.decode()
    assert "File storage is not available right now, so the file was not uploaded." in page
    assert "127.0.0.1" not in page
    assert "<form" in page  # the page itself, to try again from
    assert_nothing_stored(storage_root)


@pytest.mark.parametrize("store", ["unwritable_root", "unreachable_store"])
def test_an_upload_through_the_api_is_503_storage_unavailable_when_the_store_fails(
    api: APIClient, storage_root: Path, store: str, request: pytest.FixtureRequest
) -> None:
    request.getfixturevalue(store)

    response = api.post(reverse("api:file-list"), {"file": csv_upload()})

    assert response.status_code == 503
    assert response.json() == {
        "detail": "File storage is not available right now, so the file was not uploaded. "
        "Try again in a few minutes.",
        "code": "storage_unavailable",
    }
    assert_nothing_stored(storage_root)


def test_a_service_upload_raises_storage_unavailable_and_records_nothing(
    unreachable_store: str,
) -> None:
    with pytest.raises(StorageUnavailable):
        services.file_create(upload=csv_upload())

    assert not File.objects.exists()


def test_a_download_is_503_on_the_page_and_in_the_api_when_the_store_fails(
    logged_in: Client,
    api: APIClient,
    processing_file: MakeFile,
    request: pytest.FixtureRequest,
) -> None:
    done = succeed(processing_file(), output=b"id\n1\n")
    assert logged_in.get(reverse("files:download", args=[done.pk])).status_code == 200
    request.getfixturevalue("unreachable_store")

    page = logged_in.get(reverse("files:download", args=[done.pk]))
    response = api.get(reverse("api:file-download", args=[done.pk]))

    assert page.status_code == 503
    assert b"cannot be downloaded" in page.content
    assert response.status_code == 503
    assert response.json()["code"] == "storage_unavailable"
    assert "127.0.0.1" not in response.json()["detail"]


def test_a_download_streams_the_stored_output_with_its_size(
    logged_in: Client, processing_file: MakeFile
) -> None:
    output = b"id,name\n" + b"7,someone\n" * 300_000
    done = succeed(processing_file(), output=output)

    response = logged_in.get(reverse("files:download", args=[done.pk]))

    assert response.streaming
    assert response["Content-Length"] == str(len(output))
    chunks = list(response.streaming_content)  # type: ignore[attr-defined]
    assert b"".join(chunks) == output
    assert max(len(chunk) for chunk in chunks) <= 1024 * 1024


def test_a_delete_succeeds_when_the_store_fails_and_says_what_it_left_behind(
    api: APIClient,
    processing_file: MakeFile,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
    caplog: pytest.LogCaptureFixture,
    request: pytest.FixtureRequest,
) -> None:
    file = fail(processing_file())
    request.getfixturevalue("unreachable_store")

    with (
        django_capture_on_commit_callbacks(execute=True),
        caplog.at_level(logging.WARNING, logger="files.services"),
    ):
        response = api.delete(reverse("api:file-detail", args=[file.pk]))

    assert response.status_code == 204
    assert not File.objects.exists()
    assert f"Could not delete {file.storage_key!r} from the store" in caplog.text


def test_health_names_the_store_when_it_does_not_answer(
    client: Client, settings: SettingsWrapper, unreachable_store: str
) -> None:
    settings.HEALTH_BROKER_CACHE_S = 0

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["storage"] == "unavailable"


def test_an_upload_is_taken_only_with_the_csrf_token_and_nothing_is_kept_without_it(
    user: object, storage_root: Path
) -> None:
    # The page's CSRF check runs in the view, after the limits, as the upload streams in.
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)  # type: ignore[arg-type]

    refused = client.post(reverse("files:list"), {"file": csv_upload()})
    assert refused.status_code == 403
    assert_nothing_stored(storage_root)

    client.get(reverse("files:list"))
    token = client.cookies["csrftoken"].value
    taken = client.post(reverse("files:list"), {"file": csv_upload(), "csrfmiddlewaretoken": token})
    assert taken.status_code == 302
    assert (storage_root / File.objects.get().storage_key).read_bytes() == GOOD_CSV
