-- 0006: manifests that carry a dataset (per-item region, reference transcript, language, metadata) and quality scores.
-- Append-only: never edit after merge; change the schema with a new numbered file.

-- What a manifest row gave its job, besides the audio reference and prompt (all NULL for a prefix batch).
ALTER TABLE jobs
    ADD COLUMN manifest_row     bigint           NULL,  -- ordinal of the data row (1-based, header not counted)
    ADD COLUMN manifest_line    bigint           NULL,  -- line the row starts on (JSONL/CSV; the row number for Parquet)
    ADD COLUMN malformed        boolean          NOT NULL DEFAULT false, -- the row could not be read: failed at submission, never retried
    ADD COLUMN offset_seconds   double precision NULL CHECK (offset_seconds >= 0),  -- region of a longer file (NeMo offset)
    ADD COLUMN duration_seconds double precision NULL CHECK (duration_seconds > 0), -- the manifest's duration (the region's, with offset)
    ADD COLUMN reference_text   text             NULL,  -- the manifest's reference transcript ("text")
    ADD COLUMN language         text             NULL,  -- the manifest's "language"/"lang"
    ADD COLUMN metadata         jsonb            NULL;  -- every other column of the row, verbatim

-- The metadata and the scores of a result against its job's reference (NULL without a reference).
-- WER/CER after normalisation (Whisper's English rules; character level for Chinese/Japanese); the counts let a batch
-- be scored as a corpus (sum of errors / sum of reference units), not as a mean of rates.
ALTER TABLE results
    ADD COLUMN metadata           jsonb            NULL,
    ADD COLUMN reference_text     text             NULL,
    ADD COLUMN wer                double precision NULL CHECK (wer >= 0),
    ADD COLUMN cer                double precision NULL CHECK (cer >= 0),
    ADD COLUMN reference_words    integer          NULL,
    ADD COLUMN word_substitutions integer          NULL,
    ADD COLUMN word_deletions     integer          NULL,
    ADD COLUMN word_insertions    integer          NULL,
    ADD COLUMN reference_chars    integer          NULL,
    ADD COLUMN char_errors        integer          NULL;

-- "the worst rows": results of a batch by WER
CREATE INDEX results_batch_wer ON results (batch_id, wer) WHERE wer IS NOT NULL;
