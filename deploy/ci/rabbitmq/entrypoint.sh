#!/bin/sh
# What the official rabbitmq image's entrypoint does that compose relies on.
set -e
if [ "$1" = rabbitmq-server ] && [ "$(id -u)" = 0 ]; then
  chown rabbitmq:rabbitmq /var/lib/rabbitmq
  find /var/lib/rabbitmq \! -user rabbitmq -exec chown rabbitmq:rabbitmq '{}' +
  # By exec, so the node is the container's main process and gets its stop signal.
  exec setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups "$@"
fi
exec "$@"
