-- Change history of every layer feature, recorded by the database itself so that
-- every client (the platform, QGIS, psql) is audited alike.
-- The schema name is substituted by the caller as an identifier: {history}.

CREATE SCHEMA IF NOT EXISTS {history};

CREATE TABLE IF NOT EXISTS {history}.feature_changes (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    layer       text        NOT NULL,
    fid         bigint      NOT NULL,
    operation   text        NOT NULL CHECK (operation IN ('INSERT', 'UPDATE', 'DELETE')),
    changed_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    changed_by  text        NOT NULL,
    db_user     text        NOT NULL DEFAULT session_user,
    txid        bigint      NOT NULL DEFAULT txid_current(),
    old_values  jsonb,
    new_values  jsonb,
    changed_fields text[]
);

CREATE INDEX IF NOT EXISTS feature_changes_layer_fid_idx
    ON {history}.feature_changes (layer, fid, changed_at);

CREATE TABLE IF NOT EXISTS {history}.imports (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    layer       text        NOT NULL,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz,
    actor       text        NOT NULL,
    file_name   text        NOT NULL,
    file_sha256 text        NOT NULL,
    mode        text        NOT NULL,
    dry_run     boolean     NOT NULL,
    status      text        NOT NULL,
    counts      jsonb       NOT NULL
);

-- Who made a change: the platform sets gisplatform.actor per transaction (the API from
-- the signed-in account, never from anything a client sends); any other client is
-- recorded by its database user. db_user keeps the login either way. An account's own
-- database login (QGIS editing the tables, a member of {db_logins}) is always recorded
-- by its name: the setting, which any session may set, is ignored for it.
-- The recording and revision triggers below run as their owner (SECURITY DEFINER): the
-- API's writer roles may change their layers but have no right on the history itself.
CREATE OR REPLACE FUNCTION {history}.current_actor() RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN EXISTS (
            SELECT FROM pg_catalog.pg_auth_members AS m
            JOIN pg_catalog.pg_roles AS g ON g.oid = m.roleid
            JOIN pg_catalog.pg_roles AS u ON u.oid = m.member
            WHERE g.rolname = {db_logins} AND u.rolname = session_user
        ) THEN session_user::text
        ELSE coalesce(nullif(current_setting('gisplatform.actor', true), ''), session_user::text)
    END
$$;

-- Keeps created_at, updated_at and version honest whatever the client sends.
-- The columns default to now()/now()/1, so an INSERT that sends none of them needs
-- no correction: the insert trigger runs only when a client overrides one (its WHEN).
CREATE OR REPLACE FUNCTION {history}.stamp_row() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.created_at := now();
        NEW.updated_at := now();
        NEW.version := 1;
    ELSE
        NEW.fid := OLD.fid;
        NEW.created_at := OLD.created_at;
        NEW.updated_at := now();
        NEW.version := OLD.version + 1;
    END IF;
    RETURN NEW;
END
$$;

-- The SQL expression of one row of table relid (alias alias) as jsonb, the geometry
-- as GeoJSON. The columns are listed: to_jsonb of the whole row would also run
-- PostGIS's geometry-to-json cast, which costs ~30x the rest of the row.
CREATE OR REPLACE FUNCTION {history}.row_jsonb_sql(relid oid, alias text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT format(
        '(SELECT to_jsonb(x) FROM (SELECT %s ST_AsGeoJSON(%I.geom)::jsonb AS geom) AS x)',
        string_agg(format('%I.%I,', alias, a.attname), ' ' ORDER BY a.attnum),
        alias
    )
    FROM pg_attribute AS a
    WHERE a.attrelid = relid AND a.attnum > 0 AND NOT a.attisdropped AND a.attname <> 'geom'
$$;

-- Statement-level, set-based recording: one INSERT … SELECT per statement over the
-- transition tables, so bulk imports pay for the history once, not once per row.
-- An INSERT entry says who created the feature and when; the values it was created
-- with are its version 1, which stays in the layer until the first UPDATE or DELETE
-- copies it into that entry's old_values (the pre-image model of SQL:2011 system
-- versioning). Rendering every inserted row as JSON would triple the cost of a bulk
-- import and store each value twice.
CREATE OR REPLACE FUNCTION {history}.record_insert() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    INSERT INTO {history}.feature_changes (layer, fid, operation, changed_by)
    SELECT TG_TABLE_NAME, n.fid, 'INSERT', actor.name
    FROM new_rows AS n CROSS JOIN (SELECT {history}.current_actor() AS name) AS actor;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION {history}.record_update() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    EXECUTE format(
        'INSERT INTO {history}.feature_changes '
        '    (layer, fid, operation, changed_by, old_values, new_values, changed_fields) '
        'SELECT $1, pair.fid, ''UPDATE'', $2, '
        '       pair.old_row, pair.new_row, diff.changed '
        'FROM (SELECT n.fid, %s AS old_row, %s AS new_row '
        '      FROM new_rows AS n JOIN old_rows AS o ON o.fid = n.fid) AS pair '
        'CROSS JOIN LATERAL ('
        '    SELECT array_agg(e.key ORDER BY e.key) AS changed '
        '    FROM jsonb_each(pair.new_row) AS e '
        '    WHERE e.key NOT IN (''updated_at'', ''version'') '
        '      AND e.value IS DISTINCT FROM pair.old_row -> e.key'
        ') AS diff '
        'WHERE diff.changed IS NOT NULL',
        {history}.row_jsonb_sql(TG_RELID, 'o'),
        {history}.row_jsonb_sql(TG_RELID, 'n')
    ) USING TG_TABLE_NAME, {history}.current_actor();
    RETURN NULL;
END
$$;

-- DELETE reads its transition table. TRUNCATE bypasses row-level triggers and has no
-- transition table: its BEFORE trigger reads the rows from the table itself.
CREATE OR REPLACE FUNCTION {history}.record_delete() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    EXECUTE format(
        'INSERT INTO {history}.feature_changes (layer, fid, operation, changed_by, old_values) '
        'SELECT $1, o.fid, ''DELETE'', $2, %s FROM %s AS o',
        {history}.row_jsonb_sql(TG_RELID, 'o'),
        CASE WHEN TG_OP = 'TRUNCATE' THEN TG_RELID::regclass::text ELSE 'old_rows' END
    ) USING TG_TABLE_NAME, {history}.current_actor();
    RETURN NULL;
END
$$;

-- One row per layer: a revision number bumped by every statement that changes
-- the layer. Caches (tiles, counts, the catalogue) key on it.
CREATE TABLE IF NOT EXISTS {history}.layer_state (
    layer      text        PRIMARY KEY,
    revision   bigint      NOT NULL DEFAULT 0,
    changed_at timestamptz NOT NULL DEFAULT now()
);

CREATE OR REPLACE FUNCTION {history}.touch_layer() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    INSERT INTO {history}.layer_state AS s (layer, revision, changed_at)
    VALUES (TG_TABLE_NAME, 1, clock_timestamp())
    ON CONFLICT (layer) DO UPDATE
        SET revision = s.revision + 1, changed_at = clock_timestamp();
    PERFORM pg_notify('gisplatform_layer_changed', TG_TABLE_NAME);
    RETURN NULL;
END
$$;
