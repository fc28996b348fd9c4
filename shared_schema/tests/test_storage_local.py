"""The local store (a directory), moved here with its tests from System B's storage module."""

import errno
import os
from pathlib import Path

import pytest

from shared_schema.errors import FileMissing, StorageKeyOutsideRoot
from shared_schema.storage import LocalStore


@pytest.fixture
def storage_root(tmp_path: Path) -> Path:
    root = tmp_path / "storage"
    root.mkdir()
    return root


@pytest.fixture
def store(storage_root: Path) -> LocalStore:
    return LocalStore(storage_root)


@pytest.mark.parametrize("key", ["../secret", "uploads/../../secret", "/etc/passwd", "", "a\x00b"])
def test_a_key_that_escapes_the_storage_root_is_refused(store: LocalStore, key: str) -> None:
    with pytest.raises(StorageKeyOutsideRoot):
        store.resolve(key)


def test_a_symlink_inside_the_root_that_points_outside_is_refused(
    store: LocalStore, storage_root: Path, tmp_path: Path
) -> None:
    (tmp_path / "outside.csv").write_text("a\n1\n")
    (storage_root / "link.csv").symlink_to(tmp_path / "outside.csv")

    with pytest.raises(StorageKeyOutsideRoot):
        store.resolve("link.csv")


def test_a_key_inside_the_root_resolves_below_it(store: LocalStore, storage_root: Path) -> None:
    assert store.resolve("uploads/a/../b.csv") == (storage_root.resolve() / "uploads" / "b.csv")


def test_a_directory_is_not_a_stored_file(store: LocalStore, storage_root: Path) -> None:
    (storage_root / "uploads").mkdir()

    with pytest.raises(FileMissing), store.open_read("uploads"):
        pass


def test_an_atomic_write_replaces_the_file_whole(store: LocalStore, storage_root: Path) -> None:
    with store.write_atomic("out/x.csv") as out:
        out.write(b"first")
    with store.write_atomic("out/x.csv") as out:
        out.write(b"second")

    assert (storage_root / "out" / "x.csv").read_bytes() == b"second"
    assert sorted(p.name for p in (storage_root / "out").iterdir()) == ["x.csv"]


def test_an_interrupted_atomic_write_leaves_the_old_file_and_no_temporary(
    store: LocalStore, storage_root: Path
) -> None:
    target = storage_root / "x.csv"
    target.write_bytes(b"old")

    def interrupted_write() -> None:
        with store.write_atomic("x.csv") as out:
            out.write(b"half")
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        interrupted_write()

    assert target.read_bytes() == b"old"
    assert [p.name for p in storage_root.iterdir()] == ["x.csv"]


def test_a_link_makes_the_key_the_same_file_and_replaces_what_was_there(
    store: LocalStore, storage_root: Path
) -> None:
    (storage_root / "in.csv").write_bytes(b"a\n1\n")
    (storage_root / "out").mkdir()
    (storage_root / "out" / "x.csv").write_bytes(b"old")

    store.copy(key="out/x.csv", source="in.csv")

    linked = storage_root / "out" / "x.csv"
    assert linked.stat().st_ino == (storage_root / "in.csv").stat().st_ino
    assert sorted(p.name for p in (storage_root / "out").iterdir()) == ["x.csv"]


def test_linking_the_same_file_twice_leaves_no_temporary_name_behind(
    store: LocalStore, storage_root: Path
) -> None:
    (storage_root / "in.csv").write_bytes(b"a,b\n1,2\n")

    for _ in range(2):  # the same already-normalized upload, processed twice
        store.copy(key="out/x.csv", source="in.csv")

    assert sorted(p.name for p in (storage_root / "out").iterdir()) == ["x.csv"]
    assert (storage_root / "in.csv").stat().st_nlink == 2


def test_where_the_file_system_cannot_link_the_key_becomes_a_copy(
    store: LocalStore, storage_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (storage_root / "in.csv").write_bytes(b"a\n1\n")

    def cross_device(*_: object) -> None:
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", cross_device)
    store.copy(key="out/x.csv", source="in.csv")

    copied = storage_root / "out" / "x.csv"
    assert copied.read_bytes() == b"a\n1\n"
    assert copied.stat().st_ino != (storage_root / "in.csv").stat().st_ino
    assert sorted(p.name for p in (storage_root / "out").iterdir()) == ["x.csv"]


def test_a_link_refuses_a_source_outside_the_root(store: LocalStore) -> None:
    with pytest.raises(StorageKeyOutsideRoot):
        store.copy(key="out/x.csv", source="../elsewhere.csv")
