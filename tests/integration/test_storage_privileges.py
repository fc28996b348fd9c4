"""Least privilege in the object store: System A writes uploads and reads outputs, System B reads
uploads and writes outputs; each is refused the other's part, and B deletes nothing.

Each system's calls go through the S3 store both systems run (shared_schema.storage), as that
system's user on the test server (harness.s3), so the policies are checked against the requests
the store really sends: multipart uploads, server-side copies, streamed reads. A refusal reaches
the caller as ``StorageUnavailable`` (a fault of the store, not of the file).
"""

import io
from collections.abc import Callable, Iterator

import botocore.exceptions
import pytest

from harness.s3 import OUTPUTS, UPLOADS, ObjectStorage
from shared_schema.errors import StorageUnavailable
from shared_schema.storage import store_save
from shared_schema.storage.s3 import PART_BYTES, S3Store

pytestmark = pytest.mark.integration

SMALL = b"id,name\n1,ada\n"
LARGE = b"x" * (PART_BYTES + 1024)
"""More than one part: a multipart upload."""

StoreAs = Callable[[str], S3Store]


@pytest.fixture
def store_as(object_store: ObjectStorage, monkeypatch: pytest.MonkeyPatch) -> StoreAs:
    """The S3 store as ``system``'s processes have it: its variables, its own client."""

    def make(system: str) -> S3Store:
        for name, value in object_store.env(system).items():
            monkeypatch.setenv(name, value)
        store = S3Store.from_url(object_store.location)
        store._client()  # made now, from this system's variables
        return store

    return make


class Admin:
    """The harness's admin user, straight to the server: puts objects in place, reads what a
    system stored, and removes every key it was told of at the end."""

    def __init__(self, storage: ObjectStorage) -> None:
        self.storage = storage
        self.client = storage.admin_client()
        self.keys: set[str] = set()

    def put(self, key: str, data: bytes) -> str:
        self.client.put_object(Bucket=self.storage.bucket, Key=self.storage.name(key), Body=data)
        self.keys.add(key)
        return key

    def get(self, key: str) -> bytes:
        self.keys.add(key)
        got = self.client.get_object(Bucket=self.storage.bucket, Key=self.storage.name(key))
        return bytes(got["Body"].read())

    def all_keys(self) -> set[str]:
        listed = self.client.list_objects_v2(
            Bucket=self.storage.bucket, Prefix=self.storage.name("")
        )
        strip = len(self.storage.name(""))
        return {item["Key"][strip:] for item in listed.get("Contents", [])}

    def remove_all(self) -> None:
        for key in self.keys:
            self.client.delete_object(Bucket=self.storage.bucket, Key=self.storage.name(key))


@pytest.fixture
def admin(object_store: ObjectStorage) -> Iterator[Admin]:
    admin = Admin(object_store)
    before = admin.all_keys()
    yield admin
    admin.remove_all()
    assert admin.all_keys() == before


DENIED = {"AccessDenied", "403"}
"""A refusal's code: a HEAD request's answer has no body, so only its status names it."""


def refused(action: Callable[[], object]) -> str:
    """The store's error code for ``action``, which must fail as a refusal of the store."""
    with pytest.raises(StorageUnavailable) as caught:
        action()
    cause = caught.value.__cause__
    assert isinstance(cause, botocore.exceptions.ClientError), repr(cause)
    return str(cause.response["Error"]["Code"])


def denied(action: Callable[[], object]) -> bool:
    return refused(action) in DENIED


def read(store: S3Store, key: str) -> bytes:
    with store.open_read(key) as file:
        return file.read()


def test_system_a_writes_uploads_and_reads_outputs_and_nothing_else(
    store_as: StoreAs, admin: Admin
) -> None:
    output = admin.put(f"{OUTPUTS}/a-reads.csv.normalized.csv", SMALL)
    upload = admin.put(f"{UPLOADS}/b-reads.csv", SMALL)
    before = admin.all_keys()
    a = store_as("system_a")

    assert store_save(a, key=f"{UPLOADS}/a-small.csv", stream=io.BytesIO(SMALL)) == len(SMALL)
    assert store_save(a, key=f"{UPLOADS}/a-large.csv", stream=io.BytesIO(LARGE)) == len(LARGE)
    assert admin.get(f"{UPLOADS}/a-large.csv") == LARGE
    assert read(a, output) == SMALL
    a.delete(f"{UPLOADS}/a-small.csv")
    a.delete(f"{UPLOADS}/a-large.csv")
    a.delete(output)  # A deletes a file's output with the file

    assert denied(lambda: read(a, upload))
    assert denied(lambda: store_save(a, key=f"{OUTPUTS}/x", stream=io.BytesIO(SMALL)))
    assert denied(lambda: store_save(a, key=f"{OUTPUTS}/y", stream=io.BytesIO(LARGE)))
    assert denied(lambda: store_save(a, key="elsewhere/x", stream=io.BytesIO(SMALL)))
    assert denied(lambda: a.copy(key=f"{OUTPUTS}/copied", source=upload))
    assert admin.all_keys() == before - {output}, "A stored what it may not, or left it"


def test_system_b_reads_uploads_and_writes_outputs_and_deletes_nothing(
    store_as: StoreAs, admin: Admin
) -> None:
    upload = admin.put(f"{UPLOADS}/b-reads.csv", SMALL)
    output = admin.put(f"{OUTPUTS}/a-reads.csv.normalized.csv", SMALL)
    b = store_as("system_b")

    assert read(b, upload) == SMALL
    with b.write_atomic(f"{OUTPUTS}/b-large.normalized.csv") as out:
        out.write(LARGE)
    b.copy(key=f"{OUTPUTS}/b-copied.normalized.csv", source=upload)
    assert admin.get(f"{OUTPUTS}/b-large.normalized.csv") == LARGE
    assert admin.get(f"{OUTPUTS}/b-copied.normalized.csv") == SMALL

    assert denied(lambda: read(b, output))
    assert denied(lambda: store_save(b, key=f"{UPLOADS}/x", stream=io.BytesIO(SMALL)))
    assert denied(lambda: b.delete(upload))
    assert denied(lambda: b.delete(output))


def test_a_store_user_the_server_does_not_know_is_refused(
    store_as: StoreAs, admin: Admin, monkeypatch: pytest.MonkeyPatch
) -> None:
    upload = admin.put(f"{UPLOADS}/anyone.csv", SMALL)
    store_as("system_b")  # B's variables, then another access key
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIANOTAUSEROFTHIS00")
    stranger = S3Store.from_url(admin.storage.location)

    assert refused(lambda: read(stranger, upload)) == "InvalidAccessKeyId"
