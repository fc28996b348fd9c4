"""``file_process`` and its store: faults pass through untouched, outputs go only through the
store's operations. Real local stores, each changed in one way by a small subclass."""

import errno
import gzip
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import pytest

from shared_schema.errors import StorageUnavailable
from shared_schema.payloads import ProcessingRequest
from shared_schema.storage import LocalStore, StoredFile
from system_b.processing import file_process
from system_b.streams import READ_BYTES

Store = Callable[..., ProcessingRequest]
LIMIT = 64 * 1024**2


class FailingFile(StoredFile):
    """A stored file whose reads fail with ``fault`` once ``good_bytes`` have been read."""

    def __init__(self, inner: StoredFile, *, good_bytes: int, fault: Exception) -> None:
        super().__init__(key=inner.key, size=inner.size)
        self._inner = inner
        self._left = good_bytes
        self._fault = fault

    def readinto(self, buffer: "memoryview | bytearray") -> int:  # type: ignore[override]
        if self._left <= 0:
            raise self._fault
        view = memoryview(buffer)[: self._left]
        n = self._inner.readinto(view)
        self._left -= n
        return n


class FailingMidFile(LocalStore):
    def __init__(self, root: Path, *, good_bytes: int, fault: Exception) -> None:
        super().__init__(root)
        self._good_bytes = good_bytes
        self._fault = fault

    @contextmanager
    def open_read(self, key: str) -> Iterator[StoredFile]:
        with (
            super().open_read(key) as inner,
            FailingFile(inner, good_bytes=self._good_bytes, fault=self._fault) as file,
        ):
            yield file


class Recording(LocalStore):
    """A directory that notes which of its operations made an output."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.calls: list[tuple[str, dict[str, str]]] = []

    def copy(self, *, key: str, source: str) -> None:
        self.calls.append(("copy", {"key": key, "source": source}))
        super().copy(key=key, source=source)

    @contextmanager
    def write_atomic(self, key: str) -> Iterator[IO[bytes]]:
        self.calls.append(("write_atomic", {"key": key}))
        with super().write_atomic(key) as out:
            yield out


ROWS = 200_000  # a few MB: many reads of READ_BYTES
TABLES = {
    "csv-copied": b"a,b\n" + b"1,x\n" * ROWS,
    "csv-linked": b"a,b\r\n" + b"1,x\r\n" * ROWS,
    "tsv-rewritten": b"a\tb\n" + b"1\tx\n" * ROWS,
    "jsonl": b"".join(json.dumps({"a": i, "b": "x"}).encode() + b"\n" for i in range(ROWS)),
    # Rows that differ, so the compressed file is still many reads long.
    "gzip": gzip.compress(
        b"a,b\n" + b"".join(b"%d,%d\n" % (i, i * 7919 % 1000003) for i in range(ROWS))
    ),
}
FAULTS = {
    "object-storage": StorageUnavailable("Object storage did not answer while trying to read."),
    "local-mount": OSError(errno.EIO, "Input/output error"),
}


@pytest.mark.parametrize("fault_name", FAULTS)
@pytest.mark.parametrize("table", TABLES)
def test_a_store_fault_mid_file_surfaces_as_itself_and_leaves_no_output(
    stored: Store, storage_root: Path, table: str, fault_name: str
) -> None:
    content = TABLES[table]
    request = stored(content)
    # Well past the sample and the first blocks of rows, well short of the end.
    good_bytes = max(4 * READ_BYTES, len(content) // 3)
    assert good_bytes < len(content)
    fault = FAULTS[fault_name]
    store = FailingMidFile(storage_root, good_bytes=good_bytes, fault=fault)

    with pytest.raises(type(fault)) as failure:
        file_process(request=request, store=store, max_bytes=LIMIT)

    assert failure.value is fault  # not caught and raised again as the file's fault
    assert not (storage_root / "outputs").exists() or not any(
        path.is_file() for path in (storage_root / "outputs").rglob("*")
    )


def test_an_upload_already_in_normalized_form_becomes_its_output_by_the_stores_copy(
    stored: Store, storage_root: Path
) -> None:
    request = stored(b"a,b\r\n1,2\r\n")
    spelled = request.model_copy(update={"storage_key": request.storage_key.replace("/", "/./")})
    store = Recording(storage_root)

    result = file_process(request=spelled, store=store, max_bytes=LIMIT)

    # From the stored file's canonical key, whatever spelling the request used.
    assert result.output_key == f"outputs/{request.storage_key}.normalized.csv"
    assert store.calls == [("copy", {"key": result.output_key, "source": request.storage_key})]
    assert (storage_root / result.output_key).read_bytes() == b"a,b\r\n1,2\r\n"


def test_an_upload_in_another_form_is_written_through_the_stores_atomic_write(
    stored: Store, storage_root: Path
) -> None:
    request = stored(b"a;b\n1;2\n")
    store = Recording(storage_root)

    result = file_process(request=request, store=store, max_bytes=LIMIT)

    assert store.calls == [("write_atomic", {"key": result.output_key})]
    assert (storage_root / str(result.output_key)).read_bytes() == b"a,b\r\n1,2\r\n"
