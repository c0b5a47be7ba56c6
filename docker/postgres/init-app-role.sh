#!/bin/sh
# Runs when the postgres container initializes its data directory (and is safe to run again):
# creates the login role the aggregator, the worker and the operator commands use. The migrate
# service (`kpfl migrate --grant kpfl_app`) then makes it a member of kpfl_aggregator, which holds
# exactly the privileges they need.
set -eu
psql -v ON_ERROR_STOP=1 -v password="$KPFL_APP_PASSWORD" --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<'EOSQL'
SELECT format('CREATE ROLE kpfl_app LOGIN PASSWORD %L', :'password')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'kpfl_app')
\gexec
EOSQL
