"""Generated input files: a realistic-looking table of any size, written in bounded memory."""

from pathlib import Path

HEADER = "id,name,score,active,joined,city\n"
_CITIES = ["Lisbon", "Oslo", "Nairobi", "Lima", "Osaka", "Quebec", "Perth", "Tbilisi"]


def _block(rows: int) -> str:
    """About ``rows`` data rows of mixed types; repeated to build large files."""
    lines = []
    for i in range(rows):
        lines.append(
            f"{i},person {i % 997},{(i * 37) % 1000 / 10:.1f},{'true' if i % 3 else 'false'},"
            f"2024-{1 + i % 12:02d}-{1 + i % 28:02d},{_CITIES[i % len(_CITIES)]}\n"
        )
    return "".join(lines)


def csv_file(path: Path, *, size_bytes: int) -> Path:
    """Write (or reuse) a CSV of about ``size_bytes``, ending on a whole row."""
    if path.exists() and abs(path.stat().st_size - size_bytes) < 64 * 1024:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    block = _block(10_000).encode()
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as out:
        out.write(HEADER.encode())
        written = len(HEADER)
        while written + len(block) <= size_bytes:
            out.write(block)
            written += len(block)
        remainder = block[: max(0, size_bytes - written)]
        out.write(remainder[: remainder.rfind(b"\n") + 1])
    tmp.replace(path)
    return path
