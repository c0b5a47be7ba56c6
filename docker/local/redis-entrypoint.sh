#!/bin/sh
# As the official redis image does: started without a config file, redis-server listens on every
# interface with protected mode off (the container's network is the boundary), else it refuses
# every connection that is not from its own loopback.
set -eu
if [ "${1:-}" = redis-server ]; then
  case "${2:-}" in
  *.conf) ;;
  *)
    shift
    set -- redis-server --protected-mode no "$@"
    ;;
  esac
fi
exec "$@"
