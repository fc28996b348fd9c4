#!/usr/bin/env bash
# `make behaviour [CELERY=x.y.z]`: run the behaviour suite (tests/behaviour) and print its table.
#
# Without a version: the remote worker runs from System B's environment, the caller worker from
# System A's (the pinned Celery), and the runner from the tests' environment (tests/.venv). With CELERY=x.y.z: two throwaway
# environments with that published version, under var/behaviour/celery-x.y.z/ (built once).
set -euo pipefail
cd "$(dirname "$0")/.."

version=${1:-}
uv=.tools/bin/uv
if [[ -z $version ]]; then
  remote=system_b/.venv/bin/python
  caller=system_a/.venv/bin/python
  runner=tests/.venv/bin/python
  label=pinned
else
  root=var/behaviour/celery-$version
  for side in remote caller; do
    env=$root/$side
    if [[ ! -f $env/.installed ]]; then
      echo "building $env (celery[redis]==$version)"
      rm -rf "$env"
      "$uv" venv --quiet --python python3 "$env"
      # The caller's environment also runs the runner, which needs psutil.
      extra=(); [[ $side == caller ]] && extra=(psutil)
      "$uv" pip install --quiet --python "$env/bin/python" "celery[redis]==$version" "${extra[@]}"
      touch "$env/.installed"
    fi
  done
  remote=$root/remote/bin/python
  caller=$root/caller/bin/python
  runner=$caller
  label=celery-$version
fi

logs=var/behaviour/logs/$label-$(date -u +%Y%m%dT%H%M%S)
mkdir -p "$logs"
cd tests
exec "../$runner" -m behaviour --remote-python "../$remote" --caller-python "../$caller" \
  --work-dir "../$logs" ${BEHAVIOUR_FLAGS:-}
