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
