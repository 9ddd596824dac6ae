#!/bin/sh
# Entrypoint of the `replica` service (docker-compose.prod.yml): a hot standby of `db`.
#
# On its first start (an empty volume) it makes a replication slot on the primary, copies
# the primary with pg_basebackup through that slot and writes the standby settings (-R:
# standby.signal, primary_conninfo, primary_slot_name); then, and on every later start, it
# runs PostgreSQL's own entrypoint, which finds the copied cluster and streams from db.
# To make it again (e.g. after a point-in-time restore of the primary): stop it, remove its
# volume, drop the slot on db (SELECT pg_drop_replication_slot('gisplatform_replica')), start.
set -eu
: "${PGDATA:=/var/lib/postgresql/data}"
: "${REPLICATION_PASSWORD:?set GISPLATFORM_REPLICATION_PASSWORD in .env}"
primary="host=${PRIMARY_HOST:-db} port=${PRIMARY_PORT:-5432} user=${REPLICATION_USER:-gisplatform_replication}"
slot="${REPLICATION_SLOT:-gisplatform_replica}"

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    until pg_isready -q -d "$primary"; do
        echo "replica: waiting for the primary ($primary)"
        sleep 2
    done
    install -d -o postgres -g postgres -m 0700 "$PGDATA"
    export PGPASSWORD="$REPLICATION_PASSWORD"
    # the slot keeps the WAL the copy and the standby still need (bounded on the primary
    # by max_slot_wal_keep_size)
    gosu postgres pg_receivewal -d "$primary" --slot="$slot" --create-slot --if-not-exists
    gosu postgres pg_basebackup -d "$primary password=$REPLICATION_PASSWORD" -D "$PGDATA" \
        --wal-method=stream --slot="$slot" --write-recovery-conf --checkpoint=fast --progress
    unset PGPASSWORD
    echo "replica: copied the primary; streaming from it through slot $slot"
fi
exec docker-entrypoint.sh "$@"
