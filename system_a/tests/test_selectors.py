import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from django.contrib.auth.models import AnonymousUser, User

from files import selectors
from files.downloads import file_output_response
from files.models import File
from shared_schema.keys import output_key_of
from shared_schema.payloads import PROGRESS_STATE

MakeFile = Callable[..., File]


def test_a_user_lists_only_their_own_files(
    processing_file: MakeFile, user: User, other_user: User
) -> None:
    mine = processing_file(task_id="mine")
    processing_file(task_id="theirs", owner=other_user)
    processing_file(task_id="nobodys", owner=None)

    assert list(selectors.file_list(owner=user)) == [mine]
    assert not selectors.file_list(owner=AnonymousUser()).exists()


def test_another_users_file_is_as_missing_as_one_that_does_not_exist(
    processing_file: MakeFile, user: User, other_user: User
) -> None:
    theirs = processing_file(owner=other_user)

    with pytest.raises(File.DoesNotExist):
        selectors.file_get(owner=user, file_id=theirs.pk)
    assert selectors.file_get(owner=other_user, file_id=theirs.pk) == theirs


def test_progress_comes_from_the_result_backend(
    processing_file: MakeFile, task_state: Callable[..., str]
) -> None:
    task_id = task_state(PROGRESS_STATE, {"bytes_read": 50, "bytes_total": 200, "rows": 1234})
    file = processing_file(task_id=task_id)

    activity = selectors.file_activity(file=file)

    assert activity is not None
    assert activity.percent == 25
    assert activity.label == "running, 25% (1,234 rows)"


def test_a_progress_state_whose_info_is_not_b_s_progress_shows_unknown(
    processing_file: MakeFile, task_state: Callable[..., str]
) -> None:
    # What a poll that straddles the task's end could read: PROGRESS with B's result as info.
    task_id = task_state(PROGRESS_STATE, {"schema_version": 1, "output_format": "csv"})
    file = processing_file(task_id=task_id)

    activity = selectors.file_activity(file=file)

    assert activity is not None
    assert activity.state == selectors.UNKNOWN_STATE
    assert activity.progress is None


def test_the_output_is_found_only_where_b_writes_this_files_output_inside_the_root(
    processing_file: MakeFile, storage_root: Path
) -> None:
    (storage_root.parent / "secret.csv").write_text("secret")

    def with_output(key: str | None = None) -> File:
        file = processing_file(task_id=f"t-{uuid.uuid4().hex}")
        file.status = File.Status.SUCCESS
        file.result = {
            "rows": 1,
            "columns": [],
            "output_key": key or output_key_of(file.storage_key),
        }
        return file

    def served(file: File) -> bytes | None:
        response = file_output_response(file=file)
        return None if response is None else b"".join(response.streaming_content)  # type: ignore[arg-type]

    own = with_output()
    (storage_root / own.output_key).parent.mkdir(parents=True, exist_ok=True)
    (storage_root / own.output_key).write_text("id\n1\n")
    escaping = with_output()
    (storage_root / escaping.output_key).symlink_to(storage_root.parent / "secret.csv")

    assert selectors.file_output_key(file=own) == own.output_key
    assert served(own) == b"id\n1\n"
    assert selectors.file_output_key(file=with_output(own.output_key)) is None
    assert selectors.file_output_key(file=with_output("../secret.csv")) is None
    assert (
        selectors.file_output_key(file=with_output(str(storage_root.parent / "secret.csv"))) is None
    )
    assert selectors.file_output_key(file=escaping) == escaping.output_key  # derived, but:
    assert served(escaping) is None  # the store refuses a key that leads out of it
    assert served(with_output()) is None  # not written
