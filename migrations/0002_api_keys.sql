-- 0002: API keys of the orchestrator's HTTP API (created, listed and revoked by `kimia keys`).
-- Append-only: never edit after merge; change the schema with a new numbered file.

-- A key reads kimia_<prefix>_<secret>; only its SHA-256 is stored. The prefix (not secret) finds the row.
CREATE TABLE api_keys (
    id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name          text        NOT NULL,
    prefix        text        NOT NULL UNIQUE,
    hash          bytea       NOT NULL CHECK (octet_length(hash) = 32),
    created_at    timestamptz NOT NULL DEFAULT now(),
    revoked_at    timestamptz NULL,
    last_used_at  timestamptz NULL
);

-- A name names one active key (a revoked key's name can be reused).
CREATE UNIQUE INDEX api_keys_active_name ON api_keys (name) WHERE revoked_at IS NULL;
