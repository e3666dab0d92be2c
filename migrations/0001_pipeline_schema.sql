-- 0001: batches, jobs, job segment checkpoints and results.
-- Append-only: never edit after merge; change the schema with a new numbered file.

CREATE TABLE batches (
    batch_id       uuid        PRIMARY KEY,
    source         text        NOT NULL,                -- s3://bucket/prefix or s3://bucket/manifest.jsonl|csv
    source_kind    text        NOT NULL CHECK (source_kind IN ('prefix', 'manifest')),
    task           text        NOT NULL,                -- asr | caption | qa | emotion | chat | ... (open set)
    question       text        NULL,
    output_type    text        NOT NULL CHECK (output_type IN ('text', 'audio', 'both')),
    sampling       jsonb       NOT NULL,
    priority       smallint    NOT NULL DEFAULT 0 CHECK (priority BETWEEN 0 AND 9),
    state          text        NOT NULL DEFAULT 'submitting'
                               CHECK (state IN ('submitting', 'running', 'completed', 'cancelled')),
    total_jobs     integer     NOT NULL DEFAULT 0,
    skipped_jobs   integer     NOT NULL DEFAULT 0,     -- incremental: content already annotated with the same options
    created_at     timestamptz NOT NULL DEFAULT now(),
    submitted_at   timestamptz NULL,                   -- listing finished, every job row written and published
    completed_at   timestamptz NULL
);

-- Job state machine: pending -> queued -> running -> succeeded | failed | cancelled
--   running -> queued again when an attempt fails transiently (redeliver_at set) or its lease expires.
--   skipped: terminal, created by an incremental re-submit; reused_job_id points at the job whose result applies.
CREATE TABLE jobs (
    job_id           uuid        PRIMARY KEY,
    batch_id         uuid        NOT NULL REFERENCES batches (batch_id),
    seq              integer     NOT NULL,             -- order within the batch (listing order); keyset paging
    state            text        NOT NULL DEFAULT 'pending'
                                 CHECK (state IN ('pending', 'queued', 'running', 'succeeded', 'failed', 'cancelled', 'skipped')),
    attempts         integer     NOT NULL DEFAULT 0,
    error            text        NULL,
    input_bucket     text        NOT NULL,
    input_key        text        NOT NULL,
    input_etag       text        NULL,
    input_size       bigint      NULL,
    prompt           text        NULL,                 -- optional per-item prompt from a manifest
    options_hash     text        NOT NULL,             -- task + question + prompt + output type + sampling
    audio_seconds    double precision NULL,
    lease_owner      text        NULL,
    lease_expires_at timestamptz NULL,
    heartbeat_at     timestamptz NULL,
    redeliver_at     timestamptz NULL,                 -- set: no message in flight; the sweeper publishes one at this time
    reused_job_id    uuid        NULL REFERENCES jobs (job_id),
    created_at       timestamptz NOT NULL DEFAULT now(),
    started_at       timestamptz NULL,
    finished_at      timestamptz NULL,
    UNIQUE (batch_id, seq)
);

CREATE INDEX jobs_batch_state ON jobs (batch_id, state);
CREATE INDEX jobs_running_lease ON jobs (lease_expires_at) WHERE state = 'running';
CREATE INDEX jobs_redeliver ON jobs (redeliver_at) WHERE redeliver_at IS NOT NULL;

-- One checkpoint per finished segment (<= 30 s of input) of a job; a retried job resumes at the first missing one.
CREATE TABLE job_segments (
    job_id         uuid        NOT NULL REFERENCES jobs (job_id),
    segment_index  integer     NOT NULL,
    start_sample   integer     NOT NULL,
    end_sample     integer     NOT NULL,
    text           text        NOT NULL,
    text_tokens    integer[]   NOT NULL,
    audio_tokens   integer[]   NOT NULL,
    speech_pcm16   bytea       NULL,                   -- generated 24 kHz speech of this segment, 16-bit LE PCM
    timings        jsonb       NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (job_id, segment_index)
);

-- Exactly one result per job (ON CONFLICT (job_id) DO NOTHING makes redelivery harmless).
CREATE TABLE results (
    job_id         uuid        PRIMARY KEY REFERENCES jobs (job_id),
    batch_id       uuid        NOT NULL REFERENCES batches (batch_id),
    task           text        NOT NULL,
    input_bucket   text        NOT NULL,
    input_key      text        NOT NULL,
    input_etag     text        NULL,
    input_size     bigint      NULL,
    options_hash   text        NOT NULL,
    text           text        NOT NULL,
    text_tokens    integer[]   NOT NULL,
    audio_tokens   integer[]   NOT NULL,
    artifact_bucket text       NULL,
    artifact_key   text        NULL,                   -- generated speech (24 kHz WAV), deterministic per job
    audio_seconds  double precision NOT NULL,
    model_id       text        NOT NULL,
    timings        jsonb       NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX results_batch ON results (batch_id);
-- Incremental rule: same content (ETag + size) with the same options hash already succeeded => skip.
CREATE INDEX results_content ON results (input_etag, input_size, options_hash);
