-- Residents' reports (issue 15). Substituted by the caller as identifiers: {reports} (the
-- schema), {history} (whose current_actor() names who made a change, as for layer edits).
-- Run by migrate as the owner; idempotent. Access (see gisplatform/reports/store.py):
--   the public role: reports.public_requests (moderated, no personal data) and the
--   SECURITY DEFINER functions submit / status / request_state; never the tables;
--   a handler role: the rows of the kinds it handles (row-level security through
--   reports.handlers), contact included, and status changes through reports.transition.

CREATE SCHEMA IF NOT EXISTS {reports};

CREATE TABLE IF NOT EXISTS {reports}.kinds (
    code            text     PRIMARY KEY,
    handler_role    text     NOT NULL,
    deadline        interval NOT NULL,
    layer           text     NULL,
    marking_answers jsonb    NOT NULL
);

-- which kinds each handler database role handles (synced from the kinds and the roles)
CREATE TABLE IF NOT EXISTS {reports}.handlers (
    db_role text NOT NULL,
    kind    text NOT NULL REFERENCES {reports}.kinds (code) ON DELETE CASCADE,
    PRIMARY KEY (db_role, kind)
);

CREATE TABLE IF NOT EXISTS {reports}.requests (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token         text        NOT NULL UNIQUE,
    kind          text        NOT NULL REFERENCES {reports}.kinds (code),
    layer         text        NULL,
    feature_id    text        NULL,
    geom          geometry(Point, 4326) NOT NULL,
    answers       jsonb       NOT NULL DEFAULT jsonb_build_object()
                  CHECK (jsonb_typeof(answers) = 'object'),
    description   text        NOT NULL DEFAULT '' CHECK (length(description) <= 5000),
    contact       text        NULL CHECK (length(contact) <= 500),
    client_hash   text        NOT NULL,
    source        text        NOT NULL CHECK (source IN ('web', 'open311')),
    status        text        NOT NULL DEFAULT 'unconfirmed' CHECK (status IN
                  ('unconfirmed', 'open', 'in_progress', 'resolved', 'duplicate', 'rejected')),
    status_reason text        NULL CHECK (length(status_reason) <= 2000),
    duplicate_of  bigint      NULL REFERENCES {reports}.requests (id),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    deadline_at   timestamptz NOT NULL
);

-- invented reports of the demo data set (gisplatform demo), shown as demo like demo features
ALTER TABLE {reports}.requests ADD COLUMN IF NOT EXISTS is_demo boolean NOT NULL DEFAULT false;

CREATE INDEX IF NOT EXISTS requests_client_idx ON {reports}.requests (client_hash, created_at);
CREATE INDEX IF NOT EXISTS requests_kind_status_idx ON {reports}.requests (kind, status);
CREATE INDEX IF NOT EXISTS requests_feature_idx ON {reports}.requests (layer, feature_id);
CREATE INDEX IF NOT EXISTS requests_geom_idx ON {reports}.requests USING gist (geom);

CREATE TABLE IF NOT EXISTS {reports}.photos (
    request_id bigint PRIMARY KEY REFERENCES {reports}.requests ON DELETE CASCADE,
    content    bytea  NOT NULL,
    media_type text   NOT NULL,
    width      int    NOT NULL,
    height     int    NOT NULL
);

CREATE TABLE IF NOT EXISTS {reports}.transitions (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_id  bigint      NOT NULL REFERENCES {reports}.requests ON DELETE CASCADE,
    from_status text        NULL,
    to_status   text        NOT NULL,
    actor       text        NOT NULL,
    reason      text        NULL,
    at          timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE INDEX IF NOT EXISTS transitions_request_idx ON {reports}.transitions (request_id, id);

-- Moderated reports without personal data: never token, contact, client_hash; a rejected
-- report shows its status and reason only.
CREATE OR REPLACE VIEW {reports}.public_requests AS
SELECT r.id, r.kind,
       CASE WHEN r.status = 'rejected' THEN NULL ELSE r.layer END AS layer,
       CASE WHEN r.status = 'rejected' THEN NULL ELSE r.feature_id END AS feature_id,
       r.geom,
       CASE WHEN r.status = 'rejected' THEN jsonb_build_object() ELSE r.answers END AS answers,
       CASE WHEN r.status = 'rejected' THEN '' ELSE r.description END AS description,
       r.status, r.status_reason, r.duplicate_of, r.created_at, r.updated_at, r.is_demo
FROM {reports}.requests AS r
WHERE r.status <> 'unconfirmed';

-- The allowed transitions; anything else is refused, whoever updates the row.
CREATE OR REPLACE FUNCTION {reports}.check_transition() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status IS NOT DISTINCT FROM OLD.status THEN
        RAISE EXCEPTION USING ERRCODE = 'check_violation', CONSTRAINT = 'reports_transition',
            MESSAGE = format('the report is already %s', OLD.status);
    END IF;
    IF (OLD.status, NEW.status) NOT IN (
        ('unconfirmed', 'open'), ('unconfirmed', 'rejected'), ('unconfirmed', 'duplicate'),
        ('open', 'in_progress'), ('open', 'resolved'), ('open', 'duplicate'),
        ('open', 'rejected'), ('in_progress', 'resolved'), ('in_progress', 'open'),
        ('resolved', 'open')
    ) THEN
        RAISE EXCEPTION USING ERRCODE = 'check_violation', CONSTRAINT = 'reports_transition',
            MESSAGE = format('a report cannot go from %s to %s', OLD.status, NEW.status);
    END IF;
    IF NEW.status = 'rejected' AND coalesce(btrim(NEW.status_reason), '') = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'check_violation', CONSTRAINT = 'reports_reason',
            MESSAGE = 'a rejection needs a reason the reporter reads';
    END IF;
    IF NEW.status = 'duplicate' AND (NEW.duplicate_of IS NULL OR NEW.duplicate_of = NEW.id) THEN
        RAISE EXCEPTION USING ERRCODE = 'check_violation', CONSTRAINT = 'reports_duplicate',
            MESSAGE = 'a duplicate names the other report';
    END IF;
    IF NEW.status <> 'duplicate' THEN
        NEW.duplicate_of := NULL;
    END IF;
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

-- Every change of state is one row, with the actor as the layers' history records it.
CREATE OR REPLACE FUNCTION {reports}.record_transition() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO {reports}.transitions (request_id, from_status, to_status, actor, reason)
    VALUES (NEW.id, OLD.status, NEW.status, {history}.current_actor(), NEW.status_reason);
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER reports_check_transition
    BEFORE UPDATE ON {reports}.requests FOR EACH ROW
    EXECUTE FUNCTION {reports}.check_transition();
CREATE OR REPLACE TRIGGER reports_record_transition
    AFTER UPDATE ON {reports}.requests FOR EACH ROW
    EXECUTE FUNCTION {reports}.record_transition();

-- Moderation's one way to change a report's state: runs as the caller, so the row-level
-- security of its handler role decides which reports it may move.
CREATE OR REPLACE FUNCTION {reports}.transition(
    p_request bigint, p_to text, p_reason text DEFAULT NULL, p_duplicate_of bigint DEFAULT NULL
) RETURNS bigint
LANGUAGE plpgsql SECURITY INVOKER AS $$
DECLARE
    made bigint;
BEGIN
    UPDATE {reports}.requests
    SET status = p_to, status_reason = nullif(btrim(p_reason), ''), duplicate_of = p_duplicate_of
    WHERE id = p_request;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'no_data_found',
            MESSAGE = format('no report %s that you handle', p_request);
    END IF;
    SELECT max(t.id) INTO made FROM {reports}.transitions AS t WHERE t.request_id = p_request;
    RETURN made;
END
$$;

-- A resident's report, stored whole or not at all; at most p_limit per client address in
-- p_window_s seconds (then retry_after > 0 and nothing is stored).
CREATE OR REPLACE FUNCTION {reports}.submit(
    p_token_hash text, p_kind text, p_layer text, p_feature_id text, p_lon float8, p_lat float8,
    p_answers jsonb, p_description text, p_contact text, p_client_hash text, p_source text,
    p_limit integer, p_window_s integer,
    p_photo bytea, p_media_type text, p_width integer, p_height integer
) RETURNS TABLE (request_id bigint, retry_after integer)
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    recent integer;
    oldest timestamptz;
    made bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('gisplatform.reports'), hashtext(p_client_hash));
    SELECT count(*), min(s.created_at) INTO recent, oldest FROM (
        SELECT r.created_at FROM {reports}.requests AS r
        WHERE r.client_hash = p_client_hash
          AND r.created_at > clock_timestamp() - make_interval(secs => p_window_s)
        ORDER BY r.created_at DESC LIMIT p_limit) AS s;
    IF recent >= p_limit THEN
        RETURN QUERY SELECT NULL::bigint, greatest(1, ceil(extract(epoch FROM
            oldest + make_interval(secs => p_window_s) - clock_timestamp())))::integer;
        RETURN;
    END IF;
    INSERT INTO {reports}.requests (token, kind, layer, feature_id, geom, answers, description,
                                    contact, client_hash, source, deadline_at, created_at,
                                    updated_at)
    SELECT p_token_hash, k.code, p_layer, p_feature_id,
           ST_SetSRID(ST_MakePoint(p_lon, p_lat), 4326), p_answers, coalesce(p_description, ''),
           nullif(btrim(p_contact), ''), p_client_hash, p_source,
           clock_timestamp() + k.deadline, clock_timestamp(), clock_timestamp()
    FROM {reports}.kinds AS k WHERE k.code = p_kind
    RETURNING id INTO made;
    IF made IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
            MESSAGE = format('no report kind %s', p_kind);
    END IF;
    INSERT INTO {reports}.transitions (request_id, from_status, to_status, actor)
    VALUES (made, NULL, 'unconfirmed', 'resident');
    IF p_photo IS NOT NULL THEN
        INSERT INTO {reports}.photos (request_id, content, media_type, width, height)
        VALUES (made, p_photo, p_media_type, p_width, p_height);
    END IF;
    RETURN QUERY SELECT made, 0;
END
$$;

-- The reporter's view of one report (by the SHA-256 of the status-page token): its state
-- and every step, staff named by the handling role only; never the contact.
CREATE OR REPLACE FUNCTION {reports}.status(p_token_hash text)
RETURNS TABLE (id bigint, kind text, layer text, feature_id text, lon float8, lat float8,
               answers jsonb, description text, status text, status_reason text,
               duplicate_of bigint, created_at timestamptz, updated_at timestamptz,
               deadline_at timestamptz, steps jsonb)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
    SELECT r.id, r.kind, r.layer, r.feature_id, ST_X(r.geom), ST_Y(r.geom), r.answers,
           r.description, r.status, r.status_reason, r.duplicate_of, r.created_at,
           r.updated_at, r.deadline_at,
           (SELECT jsonb_agg(jsonb_build_object(
                'at', t.at, 'from', t.from_status, 'to', t.to_status, 'reason', t.reason,
                'by', CASE WHEN t.actor = 'resident' THEN 'resident' ELSE k.handler_role END)
                ORDER BY t.id)
            FROM {reports}.transitions AS t WHERE t.request_id = r.id)
    FROM {reports}.requests AS r JOIN {reports}.kinds AS k ON k.code = r.kind
    WHERE r.token = p_token_hash
$$;

-- That a report exists and its state, without its content (Open311 requests/{{id}} before
-- moderation): nothing a resident wrote, nothing personal.
CREATE OR REPLACE FUNCTION {reports}.request_state(p_id bigint)
RETURNS TABLE (id bigint, kind text, status text, created_at timestamptz,
               updated_at timestamptz, deadline_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS $$
    SELECT r.id, r.kind, r.status, r.created_at, r.updated_at, r.deadline_at
    FROM {reports}.requests AS r WHERE r.id = p_id
$$;

ALTER TABLE {reports}.requests ENABLE ROW LEVEL SECURITY;
ALTER TABLE {reports}.photos ENABLE ROW LEVEL SECURITY;
ALTER TABLE {reports}.transitions ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS handled ON {reports}.requests;
CREATE POLICY handled ON {reports}.requests USING (kind IN (
    SELECT h.kind FROM {reports}.handlers AS h WHERE h.db_role = current_user));
DROP POLICY IF EXISTS handled ON {reports}.photos;
CREATE POLICY handled ON {reports}.photos
    USING (request_id IN (SELECT r.id FROM {reports}.requests AS r));
DROP POLICY IF EXISTS handled ON {reports}.transitions;
CREATE POLICY handled ON {reports}.transitions
    USING (request_id IN (SELECT r.id FROM {reports}.requests AS r));
