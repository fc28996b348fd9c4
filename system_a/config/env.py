"""Typed readers for the environment: the project's one configuration vocabulary.

One rule for every reader, the same as System B's (system_b/settings.py): a variable that is
unset or empty means its default. Compose passes an unset ``${VAR:-}`` on as an empty string,
so an empty value must not mean "false" or "nothing" in one place and the default in another.
"""

import os

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def env_str(name: str, default: str | None = None) -> str:
    value = os.environ.get(name)
    if value is None or value == "":
        if default is None:
            raise ImproperlyConfigured(f"Set the {name} environment variable.")
        return default
    return value


def env_bool(name: str, *, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, got {raw!r}.")


def env_int(name: str, *, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, got {raw!r}.") from None


def env_list(name: str, *, default: list[str]) -> list[str]:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_choice(name: str, *, choices: tuple[str, ...], default: str) -> str:
    value = os.environ.get(name, "").strip().lower() or default
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, got {value!r}.")
    return value


def storage_location_checked(location: str) -> str:
    """An ``s3://bucket/prefix`` storage location, refused at start-up when it names no bucket
    (rather than at the first upload)."""
    bucket = location.removeprefix("s3://").partition("/")[0]
    if not bucket:
        raise ImproperlyConfigured(
            f"CROSSLINK_STORAGE_ROOT must name a bucket: s3://bucket/prefix, got {location!r}."
        )
    return location
