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

-- Who made a change: the platform sets gisplatform.actor per transaction;
-- any other client is recorded by its database user.
CREATE OR REPLACE FUNCTION {history}.current_actor() RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT coalesce(nullif(current_setting('gisplatform.actor', true), ''), session_user::text)
$$;

-- Keeps created_at, updated_at and version honest whatever the client sends.
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

-- Statement-level, set-based recording: one INSERT … SELECT per statement over the
-- transition tables, so bulk imports pay for the history once, not once per row.
CREATE OR REPLACE FUNCTION {history}.record_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {history}.feature_changes (layer, fid, operation, changed_by, new_values)
    SELECT TG_TABLE_NAME, n.fid, 'INSERT', {history}.current_actor(),
           to_jsonb(n) - 'geom' || jsonb_build_object('geom', ST_AsGeoJSON(n.geom)::jsonb)
    FROM new_rows AS n;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION {history}.record_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {history}.feature_changes
        (layer, fid, operation, changed_by, old_values, new_values, changed_fields)
    SELECT TG_TABLE_NAME, pair.fid, 'UPDATE', {history}.current_actor(),
           pair.old_row, pair.new_row, diff.changed
    FROM (
        SELECT n.fid,
               to_jsonb(o) - 'geom' || jsonb_build_object('geom', ST_AsGeoJSON(o.geom)::jsonb)
                   AS old_row,
               to_jsonb(n) - 'geom' || jsonb_build_object('geom', ST_AsGeoJSON(n.geom)::jsonb)
                   AS new_row
        FROM new_rows AS n JOIN old_rows AS o ON o.fid = n.fid
    ) AS pair
    CROSS JOIN LATERAL (
        SELECT array_agg(e.key ORDER BY e.key) AS changed
        FROM jsonb_each(pair.new_row) AS e
        WHERE e.key NOT IN ('updated_at', 'version')
          AND e.value IS DISTINCT FROM pair.old_row -> e.key
    ) AS diff
    WHERE diff.changed IS NOT NULL;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION {history}.record_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {history}.feature_changes (layer, fid, operation, changed_by, old_values)
    SELECT TG_TABLE_NAME, o.fid, 'DELETE', {history}.current_actor(),
           to_jsonb(o) - 'geom' || jsonb_build_object('geom', ST_AsGeoJSON(o.geom)::jsonb)
    FROM old_rows AS o;
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
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {history}.layer_state AS s (layer, revision, changed_at)
    VALUES (TG_TABLE_NAME, 1, clock_timestamp())
    ON CONFLICT (layer) DO UPDATE
        SET revision = s.revision + 1, changed_at = clock_timestamp();
    PERFORM pg_notify('gisplatform_layer_changed', TG_TABLE_NAME);
    RETURN NULL;
END
$$;
