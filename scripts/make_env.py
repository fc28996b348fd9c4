"""Write .env for docker compose from .env.example, every secret a fresh random value.

Run by `make env`. Never overwrites an existing .env: secrets already in use (a database
initialised with one password) must not change behind compose's back. An argument writes
another file instead (make test-compose writes its own, for `docker compose --env-file`).
"""

import secrets
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / ".env"
    example = REPO / ".env.example"
    if target.exists():
        sys.exit(f"{target} exists; edit it, or remove it to start over.")
    lines = []
    for line in example.read_text().splitlines():
        name, sep, value = line.partition("=")
        if sep and not line.startswith("#") and not value:
            # Letters and digits only: the broker passwords go into URLs.
            line = f"{name}={secrets.token_hex(24)}"
        lines.append(line)
    target.write_text("\n".join(lines) + "\n")
    target.chmod(0o600)
    print(f"wrote {target}; docker compose up --build starts the demo")


if __name__ == "__main__":
    main()
