"""Where things live on the shared storage volume, as both systems must agree.

System B writes the normalized output of the stored file ``key`` at ``output_key_of(key)``.
System A never takes that location from B's result: it derives it from the file's own storage
key and refuses a result that names anything else (a result that pointed at another user's
upload would otherwise be served as this file's output).
"""

from typing import Final

OUTPUT_PREFIX: Final = "outputs"
OUTPUT_SUFFIX: Final = ".normalized.csv"


def output_key_of(key: str) -> str:
    """The storage key of the normalized output of the stored file ``key`` (a relative path
    in its canonical form, as the uploader stored it)."""
    return f"{OUTPUT_PREFIX}/{key}{OUTPUT_SUFFIX}"
