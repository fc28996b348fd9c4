"""Each format, and each way a file can be wrong, through both systems' real workers: what B
decides is what A stores and shows."""

import gzip
import json
import uuid
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from files import services
from files.models import File
from harness.files import finished, upload
from harness.processes import ManagedProcess
from shared_schema.errors import ERROR_HINTS, ErrorCode

pytestmark = pytest.mark.integration

Workers = tuple[ManagedProcess, ManagedProcess]


@pytest.fixture
def owner(client: Client) -> User:
    """The person whose page the tests read: A shows each user only their own files."""
    user = User.objects.create_user(f"person-{uuid.uuid4().hex[:8]}")
    client.force_login(user)
    return user


def stored_file(
    storage_root: Path, content: bytes, *, owner: User | None = None, key: str | None = None
) -> File:
    """A file written straight to storage (A's upload refuses some of these) and dispatched."""
    key = key or f"uploads/{uuid.uuid4().hex}"
    path = storage_root / key
    if path.resolve().is_relative_to(storage_root.resolve()):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    file = File.objects.create(
        original_name="direct", storage_key=key, size_bytes=len(content), owner=owner
    )
    services.file_dispatch(file_id=file.pk)
    return file


def test_gzip_compressed_json_lines_end_success_with_types_and_a_normalized_copy(
    workers: Workers, storage_root: Path
) -> None:
    lines = [{"id": 1, "when": "2024-05-01", "ok": True}, {"id": 2, "when": None, "ok": False}]
    content = gzip.compress("".join(json.dumps(line) + "\n" for line in lines).encode())

    file = finished(upload("events.bin", content), workers)

    assert file.status == File.Status.SUCCESS, file.error_message
    assert file.result is not None
    assert (file.result["format"], file.result["compression"]) == ("jsonl", "gzip")
    assert [(c["name"], c["type"], c["nulls"]) for c in file.result["columns"]] == [
        ("id", "integer", 0),
        ("when", "date", 1),
        ("ok", "boolean", 0),
    ]
    output = (storage_root / file.result["output_key"]).read_bytes().decode()
    assert output == "id,when,ok\r\n1,2024-05-01,true\r\n2,,false\r\n"


def test_a_tsv_ends_success_and_the_page_shows_its_column_types(
    workers: Workers, client: Client, owner: User
) -> None:
    content = b"name\tscore\nada\t9.5\ngrace\t8\n"
    file = finished(upload("scores.txt", content, owner=owner), workers)

    assert file.status == File.Status.SUCCESS, file.error_message
    page = client.get(reverse("files:list")).content.decode()
    assert '<span class="col-name">score</span><span class="col-type">float</span>' in page


def test_old_mac_line_ends_and_zero_padded_codes_end_success_with_codes_as_strings(
    workers: Workers,
) -> None:
    content = b"zip,count\r08123,1\r00501,2\r90210,3\r"

    file = finished(upload("old-mac.csv", content), workers)

    assert file.status == File.Status.SUCCESS, file.error_message
    assert file.result is not None
    assert file.result["rows"] == 3
    assert [(c["name"], c["type"]) for c in file.result["columns"]] == [
        ("zip", "string"),
        ("count", "integer"),
    ]


BROKEN_FILES = [
    (b"", ErrorCode.EMPTY_FILE, "empty"),
    (b"\n\n1,2\n", ErrorCode.NO_HEADER, "Line 1"),
    (b"name\ncaf\xe9\n", ErrorCode.UNDECODABLE_TEXT, "Line 2"),
    (b"PK\x03\x04\x14\x00\x06\x00\x08\x00", ErrorCode.BINARY_FILE, "ZIP"),
    (b"a,b\n" + b"x" * (2 * 1024**2) + b"\n", ErrorCode.UNSUPPORTED_FORMAT, "Line 2 is longer"),
    (b"a,b,c\n1,2,3\n4,5\n", ErrorCode.INCONSISTENT_ROWS, "Line 3"),
    (b'a,b\n1,2\n3,"open\n', ErrorCode.UNTERMINATED_QUOTE, "line 3"),
    (
        b'{"a": 1}\n{"a": 2\n',
        ErrorCode.INVALID_JSON_LINE,
        "Line 2 is not valid JSON: Expecting ',' delimiter (at column 8)",
    ),
    (",".join(f"c{i}" for i in range(1001)).encode() + b"\n", ErrorCode.TOO_MANY_COLUMNS, "1,001"),
    (b"id,id,name\n1,2,ada\n", ErrorCode.INVALID_HEADER, "the column 'id' twice"),
]


@pytest.mark.parametrize(
    ("content", "code", "where"), BROKEN_FILES, ids=[code.value for _, code, _ in BROKEN_FILES]
)
def test_a_broken_file_ends_failed_with_its_code_and_a_page_that_says_what_to_do(
    workers: Workers,
    storage_root: Path,
    client: Client,
    owner: User,
    content: bytes,
    code: ErrorCode,
    where: str,
) -> None:
    file = finished(stored_file(storage_root, content, owner=owner), workers)

    assert file.status == File.Status.FAILED
    assert file.error_code == code, file.error_message
    assert where in file.error_message
    page = client.get(reverse("files:list")).content.decode()
    assert escape(file.error_message) in page
    assert escape(ERROR_HINTS[code]) in page


def test_a_storage_key_outside_the_root_is_refused_by_b(
    workers: Workers, storage_root: Path
) -> None:
    outside = storage_root.parent / f"outside-{uuid.uuid4().hex}.csv"
    outside.write_bytes(b"a\n1\n")

    file = finished(stored_file(storage_root, b"", key=f"../{outside.name}"), workers)

    assert file.status == File.Status.FAILED
    assert file.error_code == ErrorCode.STORAGE_KEY_OUTSIDE_ROOT
    assert str(storage_root) not in file.error_message


def test_an_ordinary_bad_file_is_one_warning_in_bs_log_not_an_error_with_a_traceback(
    workers: Workers,
) -> None:
    file = finished(upload("short-row.csv", b"a,b\n1,2\n3\n"), workers)
    worker_b = workers[1]

    assert file.error_code == ErrorCode.INCONSISTENT_ROWS
    log = worker_b.log()
    assert f"File {file.pk} failed with inconsistent_rows: " in log
    assert f"remote.processing[{file.task_id}] raised expected" in log
    assert f"remote.processing[{file.task_id}] raised unexpected" not in log
