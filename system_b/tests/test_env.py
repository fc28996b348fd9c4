import pytest

from system_b.settings import Settings


def test_an_empty_variable_means_its_default(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CROSSLINK_STORAGE_ROOT", "CROSSLINK_MAX_COLUMNS", "CROSSLINK_TASK_EVENTS"):
        monkeypatch.setenv(name, "")
    monkeypatch.setenv("CELERY_BROKER_URL", "")

    settings = Settings.from_env()

    assert settings.max_columns == 1000
    assert settings.task_events is False
    assert settings.broker_url == "amqp://guest:guest@127.0.0.1:5672//"
    assert settings.storage_root.name == "crosslink-storage"
