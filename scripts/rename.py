"""Rename a copy of this repository: ``make rename NAME=acme [SYSTEM_A=web SYSTEM_B=worker]``.

One pass over every text file and path under the repository root (environments, caches, var/
and .git left out), replacing whole names consistently in each of their spellings:

* the project prefix ``crosslink`` (``Crosslink``, ``CROSSLINK``): the package names, the
  environment variables' prefix ``CROSSLINK_``, the database, the broker vhost, image names;
* optionally the systems' names ``system_a`` / ``system_b`` (``system-a``, ``SYSTEM_A``): their
  directories and System B's Python package, queue names (``system_a.callbacks``), task-name
  prefixes (``system_a.file_sweep``), broker users and their permission prefixes
  (deploy/rabbitmq/permissions.json), compose anchors and image names, constants such as
  ``QUEUE_SYSTEM_A``.

The prose names "System A" and "System B" are roles and stay. docs/copying.md says what to
delete or replace afterwards. The hash-pinned locks mention the names only in comments, so
they stay valid. Standard library only: it runs before any environment exists.
"""

import argparse
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SKIP_DIRS = {
    ".git",
    ".venv",
    ".tools",
    "var",
    "__pycache__",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".hypothesis",
    "staticfiles",
}
IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*")


def spellings(old: str, new: str) -> dict[str, str]:
    """``system_a`` -> ``web``: the snake, kebab, upper and capitalized forms of both."""
    forms = {
        old: new,
        old.replace("_", "-"): new.replace("_", "-"),
        old.upper(): new.upper(),
        old.capitalize(): new.capitalize(),
    }
    return {k: v for k, v in forms.items() if k != v}


def replacer(mapping: dict[str, str]) -> "re.Pattern[str]":
    # Longest first, so that no name is replaced inside a longer one already matched.
    return re.compile("|".join(re.escape(k) for k in sorted(mapping, key=len, reverse=True)))


def files_under(root: Path) -> list[Path]:
    found = []
    for path in root.rglob("*"):
        if any(part in SKIP_DIRS for part in path.relative_to(root).parts):
            continue
        if path.is_file() and not path.is_symlink():
            found.append(path)
    return found


def rename(root: Path, mapping: dict[str, str]) -> tuple[int, int]:
    pattern = replacer(mapping)

    def sub(text: str) -> str:
        return pattern.sub(lambda m: mapping[m.group()], text)

    changed_files = 0
    for path in files_under(root):
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # not text
        new = sub(text)
        if new != text:
            path.write_text(new, encoding="utf-8")
            changed_files += 1
    moved = 0
    # Deepest first, so a directory is renamed after everything inside it.
    paths = sorted(
        (p for p in root.rglob("*") if not (set(p.relative_to(root).parts) & SKIP_DIRS)),
        key=lambda p: len(p.parts),
        reverse=True,
    )
    for path in paths:
        new_name = sub(path.name)
        if new_name != path.name:
            path.rename(path.with_name(new_name))
            moved += 1
    return changed_files, moved


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("name", help="the new project prefix, e.g. acme")
    parser.add_argument("--system-a", default="system_a", help="System A's new name, e.g. web")
    parser.add_argument("--system-b", default="system_b", help="System B's new name, e.g. worker")
    parser.add_argument("--root", type=Path, default=REPO, help="the copy to rename (this one)")
    args = parser.parse_args(argv)
    names = [args.name, args.system_a, args.system_b]
    for name in names:
        if not IDENTIFIER.fullmatch(name):
            parser.error(f"{name!r}: use lower-case letters, digits and underscores")
    if len(set(names)) != 3 or {"shared_schema", "tests", "docs"} & set(names):
        parser.error("the three names must differ from each other and from the other folders")
    mapping = {
        **spellings("crosslink", args.name),
        **spellings("system_a", args.system_a),
        **spellings("system_b", args.system_b),
    }
    changed, moved = rename(args.root.resolve(), mapping)
    print(f"renamed {', '.join(f'{k} -> {v}' for k, v in mapping.items())}")
    print(f"{changed} files changed, {moved} paths renamed under {args.root}")
    print("next: docs/copying.md says what to delete or replace; then make test")


if __name__ == "__main__":
    sys.exit(main())
