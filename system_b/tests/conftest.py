from collections.abc import Callable
from pathlib import Path

import pytest

from shared_schema.payloads import ProcessingRequest


@pytest.fixture
def storage_root(tmp_path: Path) -> Path:
    root = tmp_path / "storage"
    root.mkdir()
    return root


@pytest.fixture
def stored(storage_root: Path) -> Callable[[bytes], ProcessingRequest]:
    """Write bytes into the storage root and return the request B would receive for them."""
    counter = iter(range(1_000_000))

    def store(content: bytes, *, name: str = "upload.csv") -> ProcessingRequest:
        key = f"uploads/{next(counter)}-{name}"
        path = storage_root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        return ProcessingRequest(file_id="1", storage_key=key)

    return store
