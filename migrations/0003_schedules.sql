-- 0003: cron schedules that submit batches, and their firings (one row per fire time: each firing happens once).
-- Append-only: never edit after merge; change the schema with a new numbered file.

CREATE TABLE schedules (
    schedule_id       uuid        PRIMARY KEY,
    name              text        NOT NULL UNIQUE,
    cron              text        NOT NULL,                 -- 5 fields, or 6 with seconds first (Cronos)
    time_zone         text        NOT NULL,                 -- IANA, e.g. Europe/Berlin; the cron is read in it
    source            text        NOT NULL,                 -- as batches.source
    source_kind       text        NOT NULL CHECK (source_kind IN ('prefix', 'manifest')),
    task              text        NOT NULL,
    question          text        NULL,
    output_type       text        NOT NULL CHECK (output_type IN ('text', 'audio', 'both')),
    options           jsonb       NOT NULL,                 -- sampling options of every batch it submits
    priority          smallint    NOT NULL DEFAULT 0 CHECK (priority BETWEEN 0 AND 9),
    missed_run_policy text        NOT NULL CHECK (missed_run_policy IN ('skip', 'run_once')),
    paused            boolean     NOT NULL DEFAULT false,
    next_fire_at      timestamptz NOT NULL,
    last_fired_at     timestamptz NULL,
    created_at        timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX schedules_due ON schedules (next_fire_at) WHERE NOT paused;

-- Written in the same transaction that advances schedules.next_fire_at under the schedule's row lock.
CREATE TABLE schedule_firings (
    schedule_id  uuid        NOT NULL REFERENCES schedules (schedule_id) ON DELETE CASCADE,
    fire_time    timestamptz NOT NULL,                      -- the cron occurrence, not when it ran
    batch_id     uuid        NULL REFERENCES batches (batch_id),  -- NULL: nothing to submit, or error
    error        text        NULL,                          -- why no batch was submitted (bad source...)
    fired_by     text        NOT NULL,                      -- orchestrator instance
    fired_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (schedule_id, fire_time)
);
