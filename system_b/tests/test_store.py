"""Each pool process's own S3 client: made as the process starts, never in the worker's parent
(whose clients the prefork pool's children would inherit, pooled connections and all).

Making a client connects to nothing, so these need no object storage."""

import dataclasses
import os

import pytest

from shared_schema.storage import store_open
from shared_schema.storage.s3 import S3Store
from system_b import store
from system_b.settings import settings

LOCATION = "s3://crosslink-unit/b"


@pytest.fixture
def on_s3(monkeypatch: pytest.MonkeyPatch) -> S3Store:
    # Credentials from the environment, so making a client never probes for a role.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "unit")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "unit-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setattr(store, "settings", dataclasses.replace(settings, storage_root=LOCATION))
    store_open.cache_clear()  # a store of its own, whatever another test did with one
    s3 = store_open(LOCATION)
    assert isinstance(s3, S3Store)
    return s3


def test_the_workers_parent_loads_the_s3_store_but_makes_no_client(on_s3: S3Store) -> None:
    store.store_setup()

    assert store_open(LOCATION) is on_s3
    assert on_s3._client_pid is None


def test_a_pool_process_makes_its_own_s3_client_as_it_starts(on_s3: S3Store) -> None:
    store._store_connect()

    assert on_s3._client_pid == os.getpid()
    assert on_s3._client() is on_s3._s3  # the one it made, used for every file
