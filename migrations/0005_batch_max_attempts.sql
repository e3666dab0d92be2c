-- 0005: the attempts limit of a batch's jobs, decided at submission (Orchestrator:MaxAttempts or the request's maxAttempts).
-- The worker (a failed attempt) and the sweeper (an expired lease) read it from here, so the two can never disagree.
-- Append-only: never edit after merge; change the schema with a new numbered file.

-- Existing batches get 5, the limit both services used before.
ALTER TABLE batches ADD COLUMN max_attempts smallint NOT NULL DEFAULT 5 CHECK (max_attempts BETWEEN 1 AND 100);
