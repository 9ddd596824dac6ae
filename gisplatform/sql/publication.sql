-- The publication kill switch: what the military administration ordered off the public map.
-- The owner role owns everything here. The public views (api_public.*) read `withdrawals`
-- with the owner's rights, so a withdrawal is in force for every public query the moment it
-- commits. The API and analyses logins reach the schema only through the SECURITY DEFINER
-- functions below, which can only withdraw, restore what was withdrawn, and list.
-- {pub} is the schema, {history} the history schema (both substituted as identifiers),
-- {public_views_text} the schema of the public views (as a string literal).

-- name: create
CREATE SCHEMA IF NOT EXISTS {pub};
REVOKE ALL ON SCHEMA {pub} FROM PUBLIC;
CREATE TABLE IF NOT EXISTS {pub}.withdrawals (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    layer        text        NOT NULL,
    field        text,
    area         geometry,
    reason       text        NOT NULL CHECK (length(btrim(reason)) BETWEEN 1 AND 1000),
    actor        text        NOT NULL CHECK (length(actor) BETWEEN 1 AND 200),
    via          text        NOT NULL CHECK (via IN ('cli', 'http')),
    withdrawn_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    CHECK (field IS NULL OR area IS NULL),
    CHECK (area IS NULL OR (ST_SRID(area) = 4326
                            AND GeometryType(area) IN ('POLYGON', 'MULTIPOLYGON')))
);
-- one withdrawal of a whole layer, one of each field; areas may overlap
CREATE UNIQUE INDEX IF NOT EXISTS withdrawals_once
    ON {pub}.withdrawals (layer, coalesce(field, '')) WHERE area IS NULL;
CREATE INDEX IF NOT EXISTS withdrawals_areas
    ON {pub}.withdrawals (layer) WHERE area IS NOT NULL;
CREATE TABLE IF NOT EXISTS {pub}.events (
    id      bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    action  text        NOT NULL CHECK (action IN ('withdraw', 'restore')),
    withdrawal bigint   NOT NULL,
    layer   text        NOT NULL,
    field   text,
    area    geometry,
    reason  text,
    actor   text        NOT NULL,
    via     text        NOT NULL,
    db_user text        NOT NULL DEFAULT session_user
);
CREATE TABLE IF NOT EXISTS {pub}.state (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    revision  bigint  NOT NULL DEFAULT 0
);
INSERT INTO {pub}.state (singleton, revision) VALUES (true, 0) ON CONFLICT DO NOTHING;
-- While a layer has a withdrawn area its public view is a security barrier: a caller's
-- filter (CQL arithmetic can raise a division by zero) must not run on the rows the view
-- withholds, or its errors would tell of them. Without one the planner may flatten the view
-- and use the layer's indexes for a caller's bbox, so the barrier is on only while needed.
CREATE OR REPLACE FUNCTION {pub}.set_barrier(p_layer text)
    RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
    BEGIN
        IF to_regclass(format('%I.%I', {public_views_text}, p_layer)) IS NULL THEN
            RETURN;
        END IF;
        EXECUTE format('ALTER VIEW %I.%I SET (security_barrier = %s)', {public_views_text},
                       p_layer, EXISTS (SELECT FROM {pub}.withdrawals AS w
                                        WHERE w.layer = p_layer AND w.area IS NOT NULL));
    END $$;
-- A change moves the publication revision (the servers' cached state) and the layer's
-- revision (tile caches, ETags and summaries key on it), and tells listeners.
CREATE OR REPLACE FUNCTION {pub}.changed(p_layer text)
    RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
    BEGIN
        UPDATE {pub}.state SET revision = revision + 1;
        INSERT INTO {history}.layer_state AS s (layer, revision, changed_at)
        VALUES (p_layer, 1, clock_timestamp())
        ON CONFLICT (layer) DO UPDATE SET revision = s.revision + 1, changed_at = clock_timestamp();
        PERFORM {pub}.set_barrier(p_layer);
        PERFORM pg_notify('gisplatform_layer_changed', p_layer);
        PERFORM pg_notify('gisplatform_publication', p_layer);
    END $$;
CREATE OR REPLACE FUNCTION {pub}.withdraw(p_layer text, p_field text, p_area geometry,
                                          p_reason text, p_actor text, p_via text)
    RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
    DECLARE
        made bigint;
    BEGIN
        INSERT INTO {pub}.withdrawals (layer, field, area, reason, actor, via)
        VALUES (p_layer, p_field, p_area, btrim(p_reason), p_actor, p_via)
        RETURNING id INTO made;
        INSERT INTO {pub}.events (action, withdrawal, layer, field, area, reason, actor, via)
        VALUES ('withdraw', made, p_layer, p_field, p_area, btrim(p_reason), p_actor, p_via);
        PERFORM {pub}.changed(p_layer);
        RETURN made;
    END $$;
CREATE OR REPLACE FUNCTION {pub}.restore(p_id bigint, p_reason text, p_actor text, p_via text)
    RETURNS TABLE (layer text, field text)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
    DECLARE
        gone {pub}.withdrawals;
    BEGIN
        DELETE FROM {pub}.withdrawals AS w WHERE w.id = p_id RETURNING * INTO gone;
        IF NOT FOUND THEN
            RETURN;
        END IF;
        INSERT INTO {pub}.events (action, withdrawal, layer, field, area, reason, actor, via)
        VALUES ('restore', gone.id, gone.layer, gone.field, gone.area,
                nullif(btrim(p_reason), ''), p_actor, p_via);
        PERFORM {pub}.changed(gone.layer);
        layer := gone.layer;
        field := gone.field;
        RETURN NEXT;
    END $$;
CREATE OR REPLACE FUNCTION {pub}.revision()
    RETURNS bigint
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$ SELECT s.revision FROM {pub}.state AS s $$;
CREATE OR REPLACE FUNCTION {pub}.listing()
    RETURNS TABLE (id bigint, layer text, field text, area geometry, reason text, actor text,
                   via text, withdrawn_at timestamptz)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$ SELECT w.id, w.layer, w.field, w.area, w.reason, w.actor, w.via, w.withdrawn_at
            FROM {pub}.withdrawals AS w ORDER BY w.id $$;
CREATE OR REPLACE FUNCTION {pub}.log(p_limit integer)
    RETURNS TABLE (id bigint, at timestamptz, action text, withdrawal bigint, layer text,
                   field text, area geometry, reason text, actor text, via text)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$ SELECT e.id, e.at, e.action, e.withdrawal, e.layer, e.field, e.area, e.reason,
                 e.actor, e.via
            FROM {pub}.events AS e ORDER BY e.id DESC LIMIT least(p_limit, 1000) $$;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA {pub} FROM PUBLIC;
