-- 0007: resumable submission. The listing's cursor is checkpointed in the same transaction as each page of job rows, so
-- a submission whose orchestrator died is finished by any replica (its SubmissionResumer) from where it stopped.
-- Append-only: never edit after merge; change the schema with a new numbered file.

ALTER TABLE batches
    ADD COLUMN submit_cursor           text        NULL,               -- after this source position (last key / entry number)
    ADD COLUMN submit_seq              integer     NOT NULL DEFAULT 0, -- job rows written so far (the last seq)
    ADD COLUMN submit_skipped          integer     NOT NULL DEFAULT 0, -- of those, skipped as already annotated
    ADD COLUMN submit_owner            text        NULL,               -- orchestrator instance writing the pages
    ADD COLUMN submit_lease_expires_at timestamptz NULL;               -- past: the owner is gone, another may resume

-- The resumer's scan: batches still submitting.
CREATE INDEX batches_submitting ON batches (submit_lease_expires_at) WHERE state = 'submitting';
