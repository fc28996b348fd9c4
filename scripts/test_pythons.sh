#!/usr/bin/env bash
# Unit tests of each package on the other Pythons crosslink supports: `make test-pythons`.
#
# `make setup` builds both systems' environments on the default Python (3.11); this builds a
# pair per other version under var/pythons/, from the same hash-pinned lock files, and runs the
# same three unit suites in them. A version this machine lacks fails the run in CI (CI=true)
# and is skipped with a warning elsewhere.
set -euo pipefail
cd "$(dirname "$0")/.."
UV=.tools/bin/uv

find_python() {  # find_python 3.12: an interpreter of that version, or nothing
  local version=$1 candidate
  for candidate in "python$version" \
    "$(pyenv root 2>/dev/null)/versions/$(pyenv latest "$version" 2>/dev/null)/bin/python"; do
    # pyenv's shims exist for versions that are installed but not selected: ask, don't trust.
    if "$candidate" -c "import sys; assert sys.version.startswith('$version.')" 2>/dev/null; then
      command -v "$candidate"
      return
    fi
  done
}

status=0
for version in "$@"; do
  python=$(find_python "$version")
  if [[ -z $python ]]; then
    if [[ ${CI:-} == true ]]; then
      echo "Python $version is not installed; CI must test it" >&2
      status=1
    else
      echo "warning: Python $version is not installed; skipping it" >&2
    fi
    continue
  fi
  echo "== Python $version ($python)"
  for system in system_a system_b; do
    venv=var/pythons/$version/$system
    "$UV" venv --quiet --allow-existing --python "$python" "$venv"
    "$UV" pip sync --quiet --python "$venv/bin/python" --require-hashes \
      "$system/requirements-dev.lock"
    editable=(-e shared_schema)
    [[ $system == system_b ]] && editable+=(-e system_b)
    "$UV" pip install --quiet --python "$venv/bin/python" --no-deps "${editable[@]}"
  done
  root=$PWD/var/pythons/$version
  (cd shared_schema && "$root/system_b/bin/python" -m pytest -q -p no:cacheprovider) || status=1
  (cd system_b && "$root/system_b/bin/python" -m pytest -q -p no:cacheprovider) || status=1
  (cd system_a && "$root/system_a/bin/python" -m pytest -q -p no:cacheprovider) || status=1
done
exit $status
