-- Asynchronous process jobs (OGC API - Processes). A job is found only by the SHA-256 of its
-- id (the id is the caller's capability and is never stored); rows expire and are deleted.
-- A job started by a signed-in user keeps its login and is found only with that login
-- (its results may hold staff data); an anonymous job (login NULL) only without one.

-- name: create
CREATE SCHEMA IF NOT EXISTS {jobs};
REVOKE ALL ON SCHEMA {jobs} FROM PUBLIC;
CREATE TABLE IF NOT EXISTS {jobs}.jobs (
    id_hash    bytea       PRIMARY KEY,
    process_id text        NOT NULL,
    status     text        NOT NULL,
    message    text        NOT NULL DEFAULT '',
    progress   integer     NOT NULL DEFAULT 0,
    created    timestamptz NOT NULL DEFAULT now(),
    started    timestamptz,
    updated    timestamptz NOT NULL DEFAULT now(),
    finished   timestamptz,
    mimetype   text,
    result     jsonb,
    expires_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_expires_at ON {jobs}.jobs (expires_at);
ALTER TABLE {jobs}.jobs ADD COLUMN IF NOT EXISTS login text;

-- name: purge
DELETE FROM {jobs}.jobs WHERE expires_at <= now()

-- name: insert
INSERT INTO {jobs}.jobs (id_hash, process_id, status, message, progress, login, expires_at)
VALUES (%(id_hash)s, %(process_id)s, %(status)s, %(message)s, %(progress)s, %(login)s,
        now() + make_interval(secs => %(ttl_s)s))

-- name: update
UPDATE {jobs}.jobs
SET status = %(status)s::text, message = %(message)s::text, progress = %(progress)s::integer,
    started = CASE WHEN %(status)s::text = 'running' THEN coalesce(started, now()) ELSE started END,
    finished = CASE WHEN %(status)s::text IN ('successful', 'failed') THEN now() ELSE finished END,
    mimetype = coalesce(%(mimetype)s::text, mimetype),
    result = coalesce(%(result)s::jsonb, result),
    updated = now()
WHERE id_hash = %(id_hash)s AND expires_at > now()

-- name: get
SELECT process_id, status, message, progress, created, started, updated, finished, mimetype
FROM {jobs}.jobs WHERE id_hash = %(id_hash)s AND expires_at > now()
  AND login IS NOT DISTINCT FROM %(login)s::text

-- name: result
SELECT status, mimetype, result
FROM {jobs}.jobs WHERE id_hash = %(id_hash)s AND expires_at > now()
  AND login IS NOT DISTINCT FROM %(login)s::text

-- name: delete
DELETE FROM {jobs}.jobs WHERE id_hash = %(id_hash)s AND expires_at > now()
  AND login IS NOT DISTINCT FROM %(login)s::text
