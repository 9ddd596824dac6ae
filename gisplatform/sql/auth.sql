-- Staff accounts, personal API tokens and the sign-in log. The owner role owns everything here;
-- the API role may only call the SECURITY DEFINER functions below: it cannot list accounts or
-- tokens, and never reads a token's hash (tokens are checked inside the database). PostgreSQL
-- has no Argon2, so a password is checked by the server with the one hash of the login given.

-- name: create
CREATE SCHEMA IF NOT EXISTS {auth};
REVOKE ALL ON SCHEMA {auth} FROM PUBLIC;
CREATE TABLE IF NOT EXISTS {auth}.users (
    login         text        PRIMARY KEY CHECK (login ~ '^[a-z0-9][a-z0-9._@-]{{0,62}}$'),
    password_hash text        CHECK (password_hash LIKE '$argon2%'),
    roles         text[]      NOT NULL DEFAULT '{{}}',
    disabled      boolean     NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS {auth}.tokens (
    login        text        NOT NULL REFERENCES {auth}.users (login) ON DELETE CASCADE,
    name         text        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    token_hash   bytea       NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz,
    last_used_at timestamptz,
    revoked_at   timestamptz,
    PRIMARY KEY (login, name)
);
CREATE TABLE IF NOT EXISTS {auth}.events (
    id      bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at      timestamptz NOT NULL DEFAULT now(),
    login   text,
    address text,
    method  text        NOT NULL,
    outcome text        NOT NULL
);
CREATE INDEX IF NOT EXISTS events_failures ON {auth}.events (at, login, address)
    WHERE outcome = 'failure';
CREATE OR REPLACE FUNCTION {auth}.password_of(p_login text)
    RETURNS TABLE (password_hash text, roles text[])
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$ SELECT u.password_hash, u.roles FROM {auth}.users AS u
          WHERE u.login = p_login AND NOT u.disabled AND u.password_hash IS NOT NULL $$;
CREATE OR REPLACE FUNCTION {auth}.token_user(p_hash bytea)
    RETURNS TABLE (login text, roles text[])
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
    BEGIN
        UPDATE {auth}.tokens AS t SET last_used_at = now()
         WHERE t.token_hash = p_hash
           AND (t.last_used_at IS NULL OR t.last_used_at < now() - interval '1 minute');
        RETURN QUERY SELECT u.login, u.roles FROM {auth}.tokens AS t
            JOIN {auth}.users AS u ON u.login = t.login
           WHERE t.token_hash = p_hash AND t.revoked_at IS NULL AND NOT u.disabled
             AND (t.expires_at IS NULL OR t.expires_at > now());
    END $$;
CREATE OR REPLACE FUNCTION {auth}.record(p_login text, p_address text, p_method text,
                                         p_outcome text)
    RETURNS void
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$ INSERT INTO {auth}.events (login, address, method, outcome)
          VALUES (left(p_login, 100), left(p_address, 100), left(p_method, 20),
                  left(p_outcome, 20)) $$;
CREATE OR REPLACE FUNCTION {auth}.failures(p_login text, p_address text, p_window_s integer)
    RETURNS TABLE (of_login bigint, of_address bigint)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$ SELECT count(*) FILTER (WHERE e.login = p_login),
                 count(*)
            FROM {auth}.events AS e
           WHERE e.outcome = 'failure' AND e.address = p_address
             AND e.at > now() - make_interval(secs => p_window_s) $$;
-- Browser sessions (the web map's sign-in form): the cookie holds 256 random bits, the table
-- only their SHA-256. A session ends at its expiry, after idle_s without a request, when the
-- user signs out, or when the account is disabled or its password changed.
CREATE TABLE IF NOT EXISTS {auth}.sessions (
    token_hash   bytea       PRIMARY KEY CHECK (length(token_hash) = 32),
    login        text        NOT NULL REFERENCES {auth}.users (login) ON DELETE CASCADE,
    address      text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    idle_s       integer     NOT NULL CHECK (idle_s > 0),
    ended_at     timestamptz
);
CREATE INDEX IF NOT EXISTS sessions_login ON {auth}.sessions (login);
CREATE OR REPLACE FUNCTION {auth}.session_start(p_hash bytea, p_login text, p_lifetime_s integer,
                                                p_idle_s integer, p_address text)
    RETURNS void
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$ DELETE FROM {auth}.sessions AS s
           WHERE s.expires_at < now() - interval '1 day' OR s.ended_at < now() - interval '1 day';
          INSERT INTO {auth}.sessions (token_hash, login, address, expires_at, idle_s)
          VALUES (p_hash, p_login, left(p_address, 100),
                  now() + make_interval(secs => p_lifetime_s), p_idle_s) $$;
CREATE OR REPLACE FUNCTION {auth}.session_of(p_hash bytea)
    RETURNS TABLE (login text, roles text[])
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
    BEGIN
        RETURN QUERY SELECT u.login, u.roles FROM {auth}.sessions AS s
            JOIN {auth}.users AS u ON u.login = s.login
           WHERE s.token_hash = p_hash AND s.ended_at IS NULL AND NOT u.disabled
             AND s.expires_at > now()
             AND s.last_seen_at > now() - make_interval(secs => s.idle_s);
        IF FOUND THEN
            UPDATE {auth}.sessions AS s SET last_seen_at = now()
             WHERE s.token_hash = p_hash AND s.last_seen_at < now() - interval '10 seconds';
        END IF;
    END $$;
CREATE OR REPLACE FUNCTION {auth}.session_end(p_hash bytea)
    RETURNS void
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$ UPDATE {auth}.sessions AS s SET ended_at = now()
           WHERE s.token_hash = p_hash AND s.ended_at IS NULL $$;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA {auth} FROM PUBLIC;
