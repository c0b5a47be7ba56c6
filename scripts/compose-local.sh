#!/bin/sh
# Runs docker/compose.yaml's kpfl services as plain local processes (loopback only, local Postgres
# and Redis from DATABASE_URL / REDIS_URL or their defaults), completes a 2-round federation and
# cleans up. See scripts/compose-local.ts. Bounded: gives up after 3 minutes.
#   scripts/compose-local.sh [--keep] [--rounds N] [--timeout SECONDS]
set -eu
cd "$(dirname "$0")/.."
exec timeout --kill-after=10 180 node --import tsx scripts/compose-local.ts "$@"
