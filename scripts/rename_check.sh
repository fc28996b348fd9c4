#!/usr/bin/env bash
# `make test-rename`: prove that `make rename` gives a working project. Copies the repository's
# files (tracked and new, nothing ignored) to var/rename-check/, renames the copy to acme with
# systems web and worker, builds its environments and runs its unit tier (no service) and its
# contract tests. The copy reuses this checkout's uv and its cache.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
copy=$repo/var/rename-check/acme

rm -rf "$copy"
mkdir -p "$copy"
git ls-files -z --cached --others --exclude-standard \
  | while IFS= read -r -d '' f; do [[ -e $f ]] && printf '%s\0' "$f"; done \
  | tar --null -T - -cf - | tar -xf - -C "$copy"
python3 scripts/rename.py acme --system-a web --system-b worker --root "$copy"

leftovers=$(grep -rIl --exclude-dir=.git -i -e crosslink -e system_a -e system_b -e system-a \
  -e system-b "$copy" || true)
if [[ -n $leftovers ]]; then
  echo "the renamed copy still names the old project or systems in:" >&2
  echo "$leftovers" >&2
  exit 1
fi

cd "$copy"
make --no-print-directory UV="$repo/.tools/bin/uv" setup
make --no-print-directory UV="$repo/.tools/bin/uv" test-unit PYTEST_FLAGS="-q -p no:cacheprovider"
tests/.venv/bin/python -m pytest tests/contract -q -p no:cacheprovider
echo "the renamed copy passes its unit and contract tests: $copy"
