"""S3-compatible object storage as the store: AWS S3, MinIO, Ceph's RADOS Gateway.

``s3://bucket/prefix`` names the bucket and the prefix every key is stored under. The endpoint,
region and credentials come only from the standard variables boto3 reads itself
(``AWS_ENDPOINT_URL``, ``AWS_DEFAULT_REGION``, ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
or a role): https://docs.aws.amazon.com/sdkref/latest/guide/settings-reference.html

Nothing here holds a whole file: reads stream the object's body, writes go out as a multipart
upload a part at a time (one part, ``PART_BYTES``, is all that is held), and a copy is done by
the store itself. An upload is atomic by nature: the object appears only when the last request
completes it, and an upload that is aborted (or never completed) is never visible.

Every failure of the store, rather than of the file, becomes ``StorageUnavailable``: the
caller's cue to retry later (B retries with backoff; A's upload answers 503).
"""

import io
import os
import posixpath
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any, NoReturn, cast

import boto3
import boto3.s3.transfer
import botocore.config
import botocore.exceptions
import urllib3.exceptions

from shared_schema.errors import FileMissing, StorageKeyOutsideRoot, StorageUnavailable
from shared_schema.storage.base import StoredFile

PART_BYTES = 8 * 1024**2
"""Bytes per part of a multipart upload, and what a write holds in memory at most. S3's
minimum for every part but the last is 5 MiB; a file no larger than one part is a single PUT."""

COPY_MULTIPART_BYTES = 5 * 1024**3
"""Objects up to this size (S3's limit for one CopyObject) are copied in one request; larger
ones part by part (UploadPartCopy), still inside the store."""

MAX_KEY_BYTES = 1024
"""S3's limit on an object's name, prefix included."""

_MISSING = frozenset({"NoSuchKey", "404", "NotFound"})

_TRANSPORT_ERRORS = (
    botocore.exceptions.BotoCoreError,  # endpoint unreachable, connection closed, timeouts
    urllib3.exceptions.HTTPError,  # a body cut mid-stream
    OSError,
)


class S3Store:
    def __init__(self, *, bucket: str, prefix: str = "") -> None:
        if not bucket:
            raise ValueError("An s3:// storage location needs a bucket: s3://bucket/prefix")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self._lock = threading.Lock()
        self._client_pid: int | None = None
        self._s3: Any = None

    @classmethod
    def from_url(cls, url: str) -> "S3Store":
        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        return cls(bucket=bucket, prefix=prefix)

    def __repr__(self) -> str:
        return f"S3Store('s3://{self.bucket}/{self.prefix}')"

    def canonical(self, key: str) -> str:
        """The key normalized as a path (``a/./b``, ``a//b`` and ``a/x/../b`` are ``a/b``), the
        way the local store resolves it, so a key means the same in both stores."""
        if not key or "\x00" in key or key.startswith("/"):
            raise StorageKeyOutsideRoot(f"Storage key {key!r} is not a relative path.")
        canonical = posixpath.normpath(key)
        if canonical in (".", "..") or canonical.startswith("../"):
            raise StorageKeyOutsideRoot(f"Storage key {key!r} points outside the storage root.")
        if len(self._name(canonical).encode()) > MAX_KEY_BYTES:
            raise StorageKeyOutsideRoot(f"Storage key {key[:64]!r}… is too long for the store.")
        return canonical

    @contextmanager
    def open_read(self, key: str) -> Iterator[StoredFile]:
        canonical = self.canonical(key)
        with _translated(f"read {key!r}", missing=key):
            response = self._client().get_object(Bucket=self.bucket, Key=self._name(canonical))
        with S3File(response["Body"], key=canonical, size=response["ContentLength"]) as file:
            yield file

    @contextmanager
    def write_atomic(self, key: str) -> Iterator[IO[bytes]]:
        name = self._name(self.canonical(key))
        writer = _ObjectWriter(self._client(), bucket=self.bucket, name=name)
        try:
            yield cast(IO[bytes], writer)
            writer.finish()
        except BaseException:
            writer.abort()
            raise

    def copy(self, *, key: str, source: str) -> None:
        """A server-side copy: the bytes never leave the store. (S3 has no hard links; a copy
        costs the store the space, not this process the transfer.)"""
        source_name = self._name(self.canonical(source))
        with _translated(f"copy {source!r}", missing=source):
            self._client().copy(
                CopySource={"Bucket": self.bucket, "Key": source_name},
                Bucket=self.bucket,
                Key=self._name(self.canonical(key)),
                Config=boto3.s3.transfer.TransferConfig(
                    multipart_threshold=COPY_MULTIPART_BYTES, use_threads=False
                ),
            )

    def delete(self, key: str) -> None:
        with _translated(f"delete {key!r}"):
            self._client().delete_object(Bucket=self.bucket, Key=self._name(self.canonical(key)))

    def _name(self, canonical: str) -> str:
        return f"{self.prefix}/{canonical}" if self.prefix else canonical

    def _client(self) -> Any:
        """One client per process, made on first use. Never one inherited across a fork: a
        prefork worker's children would share the parent's pooled connections."""
        pid = os.getpid()
        if self._client_pid != pid:
            with self._lock:
                if self._client_pid != pid:
                    self._s3 = boto3.session.Session().client("s3", config=_client_config())
                    self._client_pid = pid
        return self._s3


def _client_config() -> botocore.config.Config:
    # Behind a custom endpoint (MinIO, Ceph, a test server) buckets are addressed by path: such
    # stores rarely have the wildcard DNS that virtual-hosted addressing needs. AWS itself keeps
    # boto3's default.
    custom = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    return botocore.config.Config(
        s3={"addressing_style": "path"} if custom else {},
        connect_timeout=5,
        read_timeout=60,
        # A few quick retries for a dropped connection or a 5xx; longer outages are the caller's
        # to wait out (B's task retries with backoff, A's upload answers 503).
        retries={"mode": "standard", "max_attempts": 3},
    )


class S3File(StoredFile):
    def __init__(self, body: Any, *, key: str, size: int) -> None:
        super().__init__(key=key, size=size)
        self._body = body

    def readinto(self, buffer: "memoryview | bytearray") -> int:  # type: ignore[override]
        with _translated(f"read {self.key!r}"):
            # StreamingBody checks the byte count at the end: a body cut short raises, rather
            # than passing for a shorter file.
            data = self._body.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()


class _ObjectWriter(io.BufferedIOBase):
    """A write-only stream that becomes one object: a single PUT if it ends within one part,
    else a multipart upload, completed by ``finish`` and aborted by ``abort``."""

    def __init__(self, client: Any, *, bucket: str, name: str) -> None:
        super().__init__()
        self._client = client
        self._target = {"Bucket": bucket, "Key": name}
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []

    def writable(self) -> bool:
        return True

    def write(self, data: "bytes | bytearray | memoryview") -> int:  # type: ignore[override]
        self._buffer += data
        if len(self._buffer) >= PART_BYTES:
            self._send_part()
        return len(data)

    def finish(self) -> None:
        with _translated("write an object"):
            if self._upload_id is None:
                self._client.put_object(Body=self._buffer, **self._target)
            else:
                if self._buffer:
                    self._send_part()
                self._client.complete_multipart_upload(
                    UploadId=self._upload_id, MultipartUpload={"Parts": self._parts}, **self._target
                )
        self._buffer = bytearray()
        self.close()

    def abort(self) -> None:
        self._buffer = bytearray()
        self.close()
        if self._upload_id is not None:
            # Best effort: an upload left open is invisible, and a bucket lifecycle rule
            # (AbortIncompleteMultipartUpload) reclaims its parts; the original error matters.
            try:
                self._client.abort_multipart_upload(UploadId=self._upload_id, **self._target)
            except (botocore.exceptions.ClientError, *_TRANSPORT_ERRORS):
                pass

    def _send_part(self) -> None:
        with _translated("write an object"):
            if self._upload_id is None:
                created = self._client.create_multipart_upload(**self._target)
                self._upload_id = created["UploadId"]
            number = len(self._parts) + 1
            # The buffer itself goes out (no copy) and a fresh one takes its place.
            part, self._buffer = self._buffer, bytearray()
            sent = self._client.upload_part(
                Body=part, PartNumber=number, UploadId=self._upload_id, **self._target
            )
            del part
        self._parts.append({"ETag": sent["ETag"], "PartNumber": number})


@contextmanager
def _translated(action: str, *, missing: str | None = None) -> Iterator[None]:
    """Store errors in the contract's terms: a missing object is the file's fault
    (``FileMissing``, when ``missing`` names the key asked for), anything else the store's."""
    try:
        yield
    except botocore.exceptions.ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if missing is not None and code in _MISSING:
            raise FileMissing(f"No stored file at {missing!r}.") from None
        _unavailable(f"Object storage refused to {action}: {code or 'error'}.", exc)
    except _TRANSPORT_ERRORS as exc:
        reason = type(exc).__name__
        _unavailable(f"Object storage did not answer while trying to {action} ({reason}).", exc)


def _unavailable(message: str, cause: BaseException) -> NoReturn:
    # The message names neither the endpoint nor credentials: it reaches the user's screen.
    raise StorageUnavailable(message) from cause
