#!/bin/sh
# What the official redis image's entrypoint does that compose relies on.
set -e
# `command: ["--appendonly", "yes"]` or `["/path/redis.conf", ...]` means redis-server with those.
case "$1" in
  -* | *.conf) set -- redis-server "$@" ;;
esac
if [ "$1" = redis-server ]; then
  shift
  config=""
  case "$1" in
    -* | "") ;;
    *) config=$1; shift ;;
  esac
  # The official image is built with protected mode off, so other containers may connect; a
  # later --protected-mode in the command still wins.
  set -- redis-server ${config:+"$config"} --protected-mode no "$@"
  if [ "$(id -u)" = 0 ]; then
    find . \! -user redis -exec chown redis '{}' +
    # By exec, so the server is the container's main process and gets its stop signal.
    exec setpriv --reuid=redis --regid=redis --init-groups "$@"
  fi
fi
exec "$@"
