#!/bin/sh
# The replication login of the streaming replica (docker-compose.prod.yml, service `replica`).
#
# PostgreSQL's image runs this once, when the `db` volume is first initialised. For a volume
# made before (e.g. by docker-compose.yml), run it by hand; it is idempotent:
#   docker compose -f docker-compose.prod.yml exec -u postgres db \
#       sh /docker-entrypoint-initdb.d/10-replication.sh
set -eu
role="${REPLICATION_USER:-gisplatform_replication}"
: "${REPLICATION_PASSWORD:?set GISPLATFORM_REPLICATION_PASSWORD in .env}"

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v role="$role" -v password="$REPLICATION_PASSWORD" <<'SQL'
SELECT format('CREATE ROLE %I WITH LOGIN REPLICATION', :'role')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('ALTER ROLE %I WITH LOGIN REPLICATION PASSWORD %L', :'role', :'password') \gexec
SQL

# Replication connections match no "all" line of pg_hba.conf: allow this role, by password.
line="host replication $role all scram-sha-256"
grep -qxF "$line" "$PGDATA/pg_hba.conf" || echo "$line" >> "$PGDATA/pg_hba.conf"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -c 'SELECT pg_reload_conf()' >/dev/null
