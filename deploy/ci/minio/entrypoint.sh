#!/bin/sh
# What the official MinIO image's entrypoint does that compose relies on: `server DIR [flags]`
# serves S3 on port 9000. Here moto's server does, keeping objects in memory (DIR is unused).
set -e
if [ "$1" = server ]; then
  # By exec, so the server is the container's main process and gets its stop signal.
  exec moto_server --host 0.0.0.0 --port 9000
fi
exec "$@"
