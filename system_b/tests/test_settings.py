from pathlib import Path

import pytest

from system_b.processing import DEFAULT_MAX_GZIP_RATIO
from system_b.settings import Settings


def test_the_gzip_ratio_limit_is_read_from_its_setting_and_defaults_to_100(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CROSSLINK_MAX_GZIP_RATIO", raising=False)
    assert Settings.from_env().max_gzip_ratio == DEFAULT_MAX_GZIP_RATIO == 100

    monkeypatch.setenv("CROSSLINK_MAX_GZIP_RATIO", "250")
    assert Settings.from_env().max_gzip_ratio == 250


def test_a_gzip_ratio_limit_that_is_not_a_number_is_refused_by_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CROSSLINK_MAX_GZIP_RATIO", "lots")

    with pytest.raises(ValueError, match="CROSSLINK_MAX_GZIP_RATIO"):
        Settings.from_env()


def test_an_empty_variable_means_its_default(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CROSSLINK_STORAGE_ROOT", "CROSSLINK_MAX_COLUMNS", "CROSSLINK_TASK_EVENTS"):
        monkeypatch.setenv(name, "")
    monkeypatch.setenv("CELERY_BROKER_URL", "")

    settings = Settings.from_env()

    assert settings.max_columns == 1000
    assert settings.task_events is False
    assert settings.broker_url == "amqp://guest:guest@127.0.0.1:5672//"
    assert Path(settings.storage_root).name == "crosslink-storage"


def test_a_storage_root_directory_is_made_absolute_and_an_s3_url_is_kept_as_it_is(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CROSSLINK_STORAGE_ROOT", "storage")
    assert Settings.from_env().storage_root == str(tmp_path.resolve() / "storage")

    monkeypatch.setenv("CROSSLINK_STORAGE_ROOT", "s3://crosslink/files")
    assert Settings.from_env().storage_root == "s3://crosslink/files"
