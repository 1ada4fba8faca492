#!/bin/sh
# One-shot job (temporalio/admin-tools): creates Temporal's two databases and brings their schemas up to date.
# Idempotent: `create` fails harmlessly when the database exists, `update-schema` only applies missing versions.
set -eu

: "${POSTGRES_SEEDS:=postgresql}"
: "${DB_PORT:=5432}"
: "${POSTGRES_USER:=temporal}"
SCHEMA_DIR=/etc/temporal/schema/postgresql/v12

echo "waiting for PostgreSQL at ${POSTGRES_SEEDS}:${DB_PORT}"
until nc -z -w 5 "$POSTGRES_SEEDS" "$DB_PORT"; do sleep 1; done

tool() {
  # SQL_PASSWORD is read by temporal-sql-tool from the environment.
  temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$DB_PORT" -u "$POSTGRES_USER" "$@"
}

for pair in temporal:temporal temporal_visibility:visibility; do
  db=${pair%%:*}
  dir=${pair#*:}
  if tool --db "$db" create; then
    tool --db "$db" setup-schema -v 0.0
  else
    echo "database $db exists: only applying missing schema versions"
  fi
  tool --db "$db" update-schema -d "$SCHEMA_DIR/$dir/versioned"
done

echo "PostgreSQL schemas for Temporal are up to date"
