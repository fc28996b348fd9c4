#!/usr/bin/env bash
# Run the demo on local services: System B's worker, System A's worker, A's beat (the sweeper)
# and A's web server.
# Started by `make demo`, which has already built both environments and migrated A's database.
# Ctrl-C stops them all.
set -euo pipefail
cd "$(dirname "$0")/.."

: "${CROSSLINK_STORAGE_ROOT:?run this through make demo}"
mkdir -p "$CROSSLINK_STORAGE_ROOT" var/log
PORT="${DEMO_PORT:-8000}"

pids=()
stop() {
  trap - EXIT INT TERM
  echo "Stopping the demo..."
  for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  wait || true
}
trap stop EXIT
trap 'stop; exit 0' INT TERM

start() {  # start NAME DIR COMMAND...: run in its own process group, log to var/log/NAME.log
  local name=$1 dir=$2; shift 2
  (cd "$dir" && exec setsid "$@") >"var/log/$name.log" 2>&1 &
  pids+=("$!")
  echo "  $name: pid $!, log var/log/$name.log"
}

# The demo's login (DEBUG only): created once, its password reset on every run.
login=$(cd system_a && .venv/bin/python manage.py ensure_demo_user)

echo "Starting crosslink on local services:"
# B's worker runs from var/ so nothing of the repository but its own environment is importable.
start worker-b var "$PWD/system_b/.venv/bin/celery" -A system_b.celery_app worker \
  --queues system_b.remote --hostname "b@%h" --loglevel INFO
start worker-a system_a .venv/bin/celery -A config worker \
  --queues system_a.callbacks --hostname "a@%h" --loglevel INFO
# Beat schedules A's sweeper (docs/reliability.md); its schedule file lives in var/.
start beat system_a .venv/bin/celery -A config beat --loglevel INFO \
  --schedule "$PWD/var/celerybeat-schedule"
start web system_a .venv/bin/python manage.py runserver "127.0.0.1:$PORT" --noreload

echo
echo "  $login"
echo "  Open http://127.0.0.1:$PORT/, log in as demo / crosslink-demo and upload a CSV file."
echo "  API: http://127.0.0.1:$PORT/api/schema/ (see README.md for curl examples)."
echo "  Ctrl-C stops everything."
wait -n "${pids[@]}" || true
echo "A demo process exited; see var/log/ for why."
