-- 0009: the retry limit in one place. A job whose attempts reached its batch's max_attempts (0005) fails for good
-- instead of being queued again; the sweeper (an expired lease) and the worker (a failed attempt) ask this function.
-- Append-only: never edit after merge; change the schema with a new numbered file.
CREATE OR REPLACE FUNCTION attempts_exhausted(attempts integer, max_attempts integer) RETURNS boolean
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS 'SELECT $1 >= $2';
