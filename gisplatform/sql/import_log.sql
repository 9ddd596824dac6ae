-- The log of file imports (one row per run, dry runs and failures included).
-- The history schema name is composed by the caller as an identifier: {history}.
CREATE SCHEMA IF NOT EXISTS {history};

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
)
