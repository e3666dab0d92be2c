-- 0004: indexes for the operators' API (batch listing, results search across batches).
-- Append-only: never edit after merge; change the schema with a new numbered file.

-- GET /batches: newest first, keyset on (created_at, batch_id), optionally by state.
CREATE INDEX batches_created ON batches (created_at DESC, batch_id DESC);

-- GET /results?q=...: case-insensitive substring search in result text (ILIKE '%q%') served by a trigram GIN index.
-- pg_trgm ships with PostgreSQL (contrib) and is a trusted extension since PostgreSQL 13.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX results_text_trgm ON results USING gin (text gin_trgm_ops);


-- A job's result row is its own or, for a skipped job, the reused one: results join jobs on this expression.
CREATE INDEX jobs_result_job ON jobs ((coalesce(reused_job_id, job_id)));
