using System.Text.Json;
using Dapper;
using KimiAudio.Contracts;
using KimiAudio.Evaluation;
using KimiAudio.Infrastructure.Resilience;
using Npgsql;
using NpgsqlTypes;
using Polly;

namespace KimiAudio.Orchestrator.Batches;

/// <summary>The orchestrator's SQL for batches and their jobs. Every call runs in the "postgres" pipeline.</summary>
public sealed class BatchRepository(NpgsqlDataSource dataSource, [FromKeyedServices(PipelineResilience.Postgres)] ResiliencePipeline pipeline)
{
    /// <summary>
    /// Writes the batch row, 'submitting' under a submission lease held by <paramref name="owner"/>;
    /// <paramref name="maxAttempts"/> is the attempts limit its jobs are held to.
    /// </summary>
    public Task CreateAsync(Guid batchId, ValidatedBatch b, int maxAttempts, string owner, int leaseSeconds, CancellationToken ct)
    {
        const string sql = """
            INSERT INTO batches (batch_id, source, source_kind, task, question, output_type, sampling, priority, max_attempts,
                                 submit_owner, submit_lease_expires_at)
            VALUES (@batchId, @source, @sourceKind, @Task, @Question, @OutputType, CAST(@sampling AS jsonb), @priority, @maxAttempts,
                    @owner, now() + make_interval(secs => @leaseSeconds))
            """;
        return pipeline.RunAsync(dataSource, c => c.ExecuteAsync(new CommandDefinition(sql, new
        {
            batchId, source = b.Location.ToString(), sourceKind = b.SourceKind, b.Task, b.Question, b.OutputType,
            sampling = JsonSerializer.Serialize(b.Sampling), priority = (short)b.Priority, maxAttempts = (short)maxAttempts,
            owner, leaseSeconds = (double)leaseSeconds,
        }, cancellationToken: ct)), ct);
    }

    public Task DeleteEmptyAsync(Guid batchId, CancellationToken ct)
    {
        const string sql = "DELETE FROM batches WHERE batch_id = @batchId AND NOT EXISTS (SELECT 1 FROM jobs WHERE batch_id = @batchId)";
        return pipeline.RunAsync(dataSource, c => c.ExecuteAsync(new CommandDefinition(sql, new { batchId }, cancellationToken: ct)), ct);
    }

    public Task<string?> GetStateAsync(Guid batchId, CancellationToken ct)
    {
        const string sql = "SELECT state FROM batches WHERE batch_id = @batchId";
        return pipeline.RunAsync(dataSource, c => c.QuerySingleOrDefaultAsync<string?>(new CommandDefinition(sql, new { batchId }, cancellationToken: ct)), ct);
    }

    /// <summary>Job ids of earlier successful results for the same content (ETag + size) and options hash.</summary>
    public async Task<Dictionary<(string ETag, long Size, string Hash), Guid>> FindReusableAsync(
        string[] etags, long[] sizes, string[] hashes, CancellationToken ct)
    {
        const string sql = """
            SELECT DISTINCT ON (r.input_etag, r.input_size, r.options_hash) r.input_etag, r.input_size, r.options_hash, r.job_id
              FROM unnest(@etags, @sizes, @hashes) AS u(etag, size, hash)
              JOIN results r ON r.input_etag = u.etag AND r.input_size = u.size AND r.options_hash = u.hash
             ORDER BY r.input_etag, r.input_size, r.options_hash, r.created_at
            """;
        var rows = await pipeline.RunAsync(dataSource, c => c.QueryAsync<(string, long, string, Guid)>(new CommandDefinition(sql, new { etags, sizes, hashes }, cancellationToken: ct)), ct);
        return rows.ToDictionary(r => (r.Item1, r.Item2, r.Item3), r => r.Item4);
    }

    /// <summary>
    /// In ONE transaction: moves the batch's submission checkpoint from <paramref name="expectedSeq"/> to the page's last seq
    /// and <paramref name="cursor"/> (renewing the lease; only while <paramref name="owner"/> holds it and the batch is
    /// submitting), then writes the page's job rows with one binary COPY. A retry whose first try committed but lost the
    /// answer finds its own checkpoint and writes nothing again.
    /// </summary>
    public Task<PageCommit> CommitPageAsync(
        Guid batchId, string owner, int expectedSeq, string cursor, IReadOnlyList<JobRow> jobs, int skipped, int leaseSeconds, CancellationToken ct)
    {
        const string advance = $"""
            UPDATE batches
               SET submit_cursor = @cursor, submit_seq = @newSeq, submit_skipped = submit_skipped + @skipped,
                   submit_lease_expires_at = now() + make_interval(secs => @leaseSeconds)
             WHERE batch_id = @batchId AND state = '{PipelineState.Batch.Submitting}' AND submit_owner = @owner AND submit_seq = @expectedSeq
            """;
        const string inspect = "SELECT state, submit_owner, submit_seq, submit_cursor FROM batches WHERE batch_id = @batchId";
        var newSeq = expectedSeq + jobs.Count;
        return pipeline.RunAsync(dataSource, async c =>
        {
            await using var tx = await c.BeginTransactionAsync(ct);
            var args = new { batchId, owner, expectedSeq, newSeq, cursor, skipped, leaseSeconds = (double)leaseSeconds };
            if (await c.ExecuteAsync(new CommandDefinition(advance, args, tx, cancellationToken: ct)) == 0)
            {
                var now = await c.QuerySingleAsync<(string State, string? Owner, int Seq, string? Cursor)>(new CommandDefinition(inspect, new { batchId }, tx, cancellationToken: ct));
                await tx.RollbackAsync(ct);
                if (now.Owner == owner && now.Seq == newSeq && now.Cursor == cursor) return PageCommit.Committed; // our lost answer
                return now.State == PipelineState.Batch.Cancelled ? PageCommit.Cancelled : PageCommit.LeaseLost;
            }
            await CopyJobsAsync(c, batchId, jobs, ct);
            await tx.CommitAsync(ct);
            return PageCommit.Committed;
        }, ct);
    }

    private static async Task CopyJobsAsync(NpgsqlConnection c, Guid batchId, IReadOnlyList<JobRow> jobs, CancellationToken ct)
    {
        const string copy = """
            COPY jobs (job_id, batch_id, seq, state, input_bucket, input_key, input_etag, input_size, prompt, options_hash,
                       redeliver_at, reused_job_id, finished_at, error, manifest_row, manifest_line, malformed, offset_seconds,
                       duration_seconds, reference_text, language, metadata) FROM STDIN (FORMAT BINARY)
            """;
        await using var importer = await c.BeginBinaryImportAsync(copy, ct);
        foreach (var j in jobs)
        {
            await importer.StartRowAsync(ct);
            await importer.WriteAsync(j.JobId, NpgsqlDbType.Uuid, ct);
            await importer.WriteAsync(batchId, NpgsqlDbType.Uuid, ct);
            await importer.WriteAsync(j.Seq, NpgsqlDbType.Integer, ct);
            await importer.WriteAsync(j.State, NpgsqlDbType.Text, ct);
            await importer.WriteAsync(j.Item.Bucket, NpgsqlDbType.Text, ct);
            await importer.WriteAsync(j.Item.Key, NpgsqlDbType.Text, ct);
            await WriteNullableAsync(importer, j.Item.ETag, NpgsqlDbType.Text, ct);
            await WriteNullableAsync(importer, j.Item.Size, NpgsqlDbType.Bigint, ct);
            await WriteNullableAsync(importer, j.Item.Prompt, NpgsqlDbType.Text, ct);
            await importer.WriteAsync(j.OptionsHash, NpgsqlDbType.Text, ct);
            await WriteNullableAsync(importer, j.RedeliverAt, NpgsqlDbType.TimestampTz, ct);
            await WriteNullableAsync(importer, j.ReusedJobId, NpgsqlDbType.Uuid, ct);
            await WriteNullableAsync(importer, j.State is PipelineState.Job.Skipped or PipelineState.Job.Failed ? DateTime.UtcNow : (DateTime?)null, NpgsqlDbType.TimestampTz, ct);
            var m = j.Item.Manifest;
            await WriteNullableAsync(importer, m?.Error, NpgsqlDbType.Text, ct);
            await WriteNullableAsync(importer, m?.Row, NpgsqlDbType.Bigint, ct);
            await WriteNullableAsync(importer, m?.Line, NpgsqlDbType.Bigint, ct);
            await importer.WriteAsync(m?.Error is not null, NpgsqlDbType.Boolean, ct);
            await WriteNullableAsync(importer, m?.OffsetSeconds, NpgsqlDbType.Double, ct);
            await WriteNullableAsync(importer, m?.DurationSeconds, NpgsqlDbType.Double, ct);
            await WriteNullableAsync(importer, m?.ReferenceText, NpgsqlDbType.Text, ct);
            await WriteNullableAsync(importer, m?.Language, NpgsqlDbType.Text, ct);
            await WriteNullableAsync(importer, m?.MetadataJson, NpgsqlDbType.Jsonb, ct);
        }
        await importer.CompleteAsync(ct);
    }

    /// <summary>Extends the submission lease; false when <paramref name="owner"/> no longer holds it (or the batch left 'submitting').</summary>
    public async Task<bool> RenewSubmitLeaseAsync(Guid batchId, string owner, int leaseSeconds, CancellationToken ct)
    {
        const string sql = $"""
            UPDATE batches SET submit_lease_expires_at = now() + make_interval(secs => @leaseSeconds)
             WHERE batch_id = @batchId AND submit_owner = @owner AND submitted_at IS NULL AND state IN ('{PipelineState.Batch.Submitting}', '{PipelineState.Batch.Cancelled}')
            """;
        return await pipeline.RunAsync(dataSource, c => c.ExecuteAsync(new CommandDefinition(sql, new { batchId, owner, leaseSeconds = (double)leaseSeconds }, cancellationToken: ct)), ct) > 0;
    }

    /// <summary>A submission that failed here: its lease ends now, so a resumer (of any replica) takes it over at once.</summary>
    public Task ReleaseSubmitLeaseAsync(Guid batchId, string owner, CancellationToken ct)
    {
        const string sql = "UPDATE batches SET submit_lease_expires_at = now() WHERE batch_id = @batchId AND submit_owner = @owner AND submitted_at IS NULL";
        return pipeline.RunAsync(dataSource, c => c.ExecuteAsync(new CommandDefinition(sql, new { batchId, owner }, cancellationToken: ct)), ct);
    }

    /// <summary>
    /// Takes over one submission whose owner is gone (lease expired or never set): still 'submitting', or cancelled before
    /// its listing finished. SKIP LOCKED plus the lease make one replica resume each batch. Null: none.
    /// </summary>
    public Task<StalledSubmission?> ClaimStalledSubmissionAsync(string owner, int leaseSeconds, CancellationToken ct)
    {
        const string claim = $"""
            UPDATE batches SET submit_owner = @owner, submit_lease_expires_at = now() + make_interval(secs => @leaseSeconds)
             WHERE batch_id = (SELECT batch_id FROM batches
                                WHERE (state = '{PipelineState.Batch.Submitting}' OR (state = '{PipelineState.Batch.Cancelled}' AND submitted_at IS NULL))
                                  AND (submit_lease_expires_at IS NULL OR submit_lease_expires_at < now())
                                ORDER BY created_at LIMIT 1
                                  FOR UPDATE SKIP LOCKED)
            RETURNING batch_id, submit_cursor, submit_seq
            """;
        const string read = """
            SELECT source, source_kind, task, question, output_type, sampling::text AS sampling_json, priority, state
              FROM batches WHERE batch_id = @batchId
            """;
        return pipeline.RunAsync(dataSource, async c =>
        {
            var claimed = await c.QuerySingleOrDefaultAsync<(Guid BatchId, string? Cursor, int Seq)?>(new CommandDefinition(claim, new { owner, leaseSeconds = (double)leaseSeconds }, cancellationToken: ct));
            if (claimed is not { } s) return null;
            var batch = await c.QuerySingleAsync<StoredBatch>(new CommandDefinition(read, new { s.BatchId }, cancellationToken: ct));
            return new StalledSubmission(s.BatchId, batch.ToValidated(), s.Cursor, s.Seq, batch.State == PipelineState.Batch.Cancelled);
        }, ct);
    }

    /// <summary>Published: pending → queued, no redelivery due.</summary>
    public Task<int> MarkQueuedAsync(Guid[] jobIds, CancellationToken ct)
    {
        const string sql = $"UPDATE jobs SET state = '{PipelineState.Job.Queued}', redeliver_at = NULL WHERE job_id = ANY(@jobIds) AND state = '{PipelineState.Job.Pending}'";
        return pipeline.RunAsync(dataSource, c => c.ExecuteAsync(new CommandDefinition(sql, new { jobIds }, cancellationToken: ct)), ct);
    }

    /// <summary>
    /// The listing is done: the batch gets its totals (from the checkpoint) and its submitted time and runs (a cancelled
    /// one stays cancelled). Null when <paramref name="owner"/> no longer holds the submission.
    /// </summary>
    public Task<(int Total, int Skipped)?> FinishSubmissionAsync(Guid batchId, string owner, CancellationToken ct)
    {
        const string sql = $"""
            UPDATE batches SET total_jobs = submit_seq, skipped_jobs = submit_skipped, submitted_at = now(),
                               state = CASE WHEN state = '{PipelineState.Batch.Submitting}' THEN '{PipelineState.Batch.Running}' ELSE state END,
                               submit_owner = NULL, submit_lease_expires_at = NULL
             WHERE batch_id = @batchId AND submit_owner = @owner AND submitted_at IS NULL
            RETURNING total_jobs, skipped_jobs
            """;
        return pipeline.RunAsync(dataSource, c => c.QuerySingleOrDefaultAsync<(int, int)?>(new CommandDefinition(sql, new { batchId, owner }, cancellationToken: ct)), ct);
    }

    /// <summary>Cancels the batch: jobs not yet running will not run; running ones finish.</summary>
    public Task<int?> CancelAsync(Guid batchId, CancellationToken ct)
    {
        const string cancelBatch = $"""
            UPDATE batches SET state = '{PipelineState.Batch.Cancelled}' WHERE batch_id = @batchId AND state IN ('{PipelineState.Batch.Submitting}', '{PipelineState.Batch.Running}')
            """;
        const string cancelJobs = $"""
            UPDATE jobs SET state = '{PipelineState.Job.Cancelled}', finished_at = now(), redeliver_at = NULL
             WHERE batch_id = @batchId AND state IN ('{PipelineState.Job.Pending}', '{PipelineState.Job.Queued}')
            """;
        return pipeline.RunAsync(dataSource, async c =>
        {
            await using var tx = await c.BeginTransactionAsync(ct);
            var exists = await c.ExecuteScalarAsync<bool>(new CommandDefinition("SELECT EXISTS (SELECT 1 FROM batches WHERE batch_id = @batchId)", new { batchId }, tx, cancellationToken: ct));
            if (!exists) return (int?)null;
            await c.ExecuteAsync(new CommandDefinition(cancelBatch, new { batchId }, tx, cancellationToken: ct));
            var cancelled = await c.ExecuteAsync(new CommandDefinition(cancelJobs, new { batchId }, tx, cancellationToken: ct));
            await tx.CommitAsync(ct);
            return cancelled;
        }, ct);
    }

    /// <summary>The columns of batches that <see cref="BatchProgress"/> reads before <see cref="BatchProgress.WithCounts"/>.</summary>
    internal const string ProgressColumns = """
        batch_id, source, task, output_type, priority, state, total_jobs, skipped_jobs, created_at, submitted_at, completed_at,
               extract(epoch FROM (coalesce(completed_at, now()) - created_at))::float8 AS elapsed_seconds
        """;

    public async Task<BatchProgress?> GetProgressAsync(Guid batchId, CancellationToken ct)
    {
        const string batchSql = $"""
            SELECT {ProgressColumns}
              FROM batches WHERE batch_id = @batchId
            """;
        const string countsSql = """
            SELECT state, count(*)::int AS jobs, coalesce(sum(audio_seconds), 0)::float8 AS audio_seconds
              FROM jobs WHERE batch_id = @batchId GROUP BY state
            """;
        return await pipeline.RunAsync(dataSource, async c =>
        {
            var batch = await c.QuerySingleOrDefaultAsync<BatchProgress>(new CommandDefinition(batchSql, new { batchId }, cancellationToken: ct));
            if (batch is null) return null;
            var counts = (await c.QueryAsync<(string State, int Jobs, double AudioSeconds)>(new CommandDefinition(countsSql, new { batchId }, cancellationToken: ct))).ToList();
            return batch.WithCounts(counts) with { Quality = await QualityAsync(c, batchId, ct) };
        }, ct);
    }

    /// <summary>The batch's corpus scores (its skipped jobs count with the results they reuse); null when nothing is scored.</summary>
    public static async Task<BatchQuality?> QualityAsync(NpgsqlConnection c, Guid batchId, CancellationToken ct)
    {
        const string sql = """
            SELECT count(*)::int AS scored_results, coalesce(sum(r.reference_words), 0)::bigint AS reference_words,
                   coalesce(sum(r.word_substitutions), 0)::bigint AS substitutions, coalesce(sum(r.word_deletions), 0)::bigint AS deletions,
                   coalesce(sum(r.word_insertions), 0)::bigint AS insertions, coalesce(sum(r.reference_chars), 0)::bigint AS reference_chars,
                   coalesce(sum(r.char_errors), 0)::bigint AS char_errors, coalesce(max(r.wer), 0)::float8 AS max_wer
              FROM jobs j JOIN results r ON r.job_id = coalesce(j.reused_job_id, j.job_id)
             WHERE j.batch_id = @batchId AND r.wer IS NOT NULL
            """;
        var q = await c.QuerySingleAsync<BatchQuality>(new CommandDefinition(sql, new { batchId }, cancellationToken: ct));
        if (q.ScoredResults == 0) return null;
        var wordErrors = q.Substitutions + q.Deletions + q.Insertions;
        return q with { Wer = ErrorCounts.RateOf(wordErrors, q.ReferenceWords), Cer = ErrorCounts.RateOf(q.CharErrors, q.ReferenceChars) };
    }

    public async Task<IReadOnlyList<JobView>> ListJobsAsync(Guid batchId, string? state, int after, int limit, CancellationToken ct)
    {
        const string sql = """
            SELECT job_id, seq, input_key, state, attempts, error, audio_seconds, reused_job_id
              FROM jobs
             WHERE batch_id = @batchId AND seq > @after AND (@state::text IS NULL OR state = @state)
             ORDER BY seq LIMIT @limit
            """;
        var rows = await pipeline.RunAsync(dataSource, c => c.QueryAsync<JobView>(new CommandDefinition(sql, new { batchId, state, after, limit }, cancellationToken: ct)), ct);
        return rows.ToList();
    }

    /// <summary>Results of the batch's jobs, including those reused from an earlier batch by an incremental re-submit.</summary>
    public async Task<IReadOnlyList<ResultView>> ListResultsAsync(Guid batchId, int after, int limit, CancellationToken ct)
    {
        const string sql = """
            SELECT j.job_id, j.seq, j.input_key, j.state, r.text, r.artifact_bucket, r.artifact_key, r.model_id, r.audio_seconds,
                   j.reused_job_id, r.text_tokens, r.audio_tokens, r.timings::text AS timings_json
              FROM jobs j
              JOIN results r ON r.job_id = coalesce(j.reused_job_id, j.job_id)
             WHERE j.batch_id = @batchId AND j.seq > @after
             ORDER BY j.seq LIMIT @limit
            """;
        var rows = await pipeline.RunAsync(dataSource, c => c.QueryAsync<ResultView>(new CommandDefinition(sql, new { batchId, after, limit }, cancellationToken: ct)), ct);
        return rows.ToList();
    }

    /// <summary>Batches newest first (keyset on created_at, batch_id), optionally in one state, with their job counts.</summary>
    public async Task<IReadOnlyList<BatchSummary>> ListAsync(string? state, PageCursor? after, int limit, CancellationToken ct)
    {
        const string sql = $"""
            SELECT b.batch_id, b.source, b.task, b.output_type, b.priority, b.state, b.total_jobs, b.skipped_jobs,
                   b.created_at, b.submitted_at, b.completed_at, c.succeeded, c.failed, c.cancelled, c.open
              FROM batches b
             CROSS JOIN LATERAL (
                   SELECT count(*) FILTER (WHERE j.state = '{PipelineState.Job.Succeeded}')::int AS succeeded,
                          count(*) FILTER (WHERE j.state = '{PipelineState.Job.Failed}')::int AS failed,
                          count(*) FILTER (WHERE j.state = '{PipelineState.Job.Cancelled}')::int AS cancelled,
                          count(*) FILTER (WHERE j.state IN ('{PipelineState.Job.Pending}', '{PipelineState.Job.Queued}', '{PipelineState.Job.Running}'))::int AS open
                     FROM jobs j WHERE j.batch_id = b.batch_id) c
             WHERE (@state::text IS NULL OR b.state = @state)
               AND (@afterCreated::timestamptz IS NULL OR (b.created_at, b.batch_id) < (@afterCreated, @afterBatch))
             ORDER BY b.created_at DESC, b.batch_id DESC
             LIMIT @limit
            """;
        var args = new { state, afterCreated = after?.CreatedAt, afterBatch = after?.BatchId, limit };
        var rows = await pipeline.RunAsync(dataSource, c => c.QueryAsync<BatchSummary>(new CommandDefinition(sql, args, cancellationToken: ct)), ct);
        return rows.ToList();
    }

    /// <summary>
    /// In one transaction, under the batch's row lock: the next page (by seq) of the batch's failed jobs goes back to
    /// 'pending' as new (attempts 0, no error, lease or end time) with a publish deadline that the sweeper honours if the
    /// caller dies before publishing, and a completed batch is running again. Null: no such batch. A cancelled batch
    /// is left as it is (<see cref="RequeuedPage.Cancelled"/>).
    /// </summary>
    public Task<RequeuedPage?> RequeueFailedPageAsync(Guid batchId, int afterSeq, int limit, DateTime publishDeadline, CancellationToken ct)
    {
        const string lockBatch = """
            SELECT source, source_kind, task, question, output_type, sampling::text AS sampling_json, priority, state
              FROM batches WHERE batch_id = @batchId FOR UPDATE
            """;
        const string requeue = $"""
            UPDATE jobs
               SET state = '{PipelineState.Job.Pending}', attempts = 0, error = NULL, lease_owner = NULL, lease_expires_at = NULL, heartbeat_at = NULL,
                   started_at = NULL, finished_at = NULL, redeliver_at = @publishDeadline
             WHERE job_id IN (SELECT job_id FROM jobs WHERE batch_id = @batchId AND state = '{PipelineState.Job.Failed}' AND NOT malformed AND seq > @afterSeq
                               ORDER BY seq LIMIT @limit FOR UPDATE)
            RETURNING job_id, seq, input_bucket, input_key, input_etag, input_size, prompt, options_hash,
                      offset_seconds, duration_seconds, reference_text, language
            """;
        const string reopen = $"UPDATE batches SET state = '{PipelineState.Batch.Running}', completed_at = NULL WHERE batch_id = @batchId AND state = '{PipelineState.Batch.Completed}'";
        return pipeline.RunAsync(dataSource, async c =>
        {
            await using var tx = await c.BeginTransactionAsync(ct);
            var batch = await c.QuerySingleOrDefaultAsync<StoredBatch>(new CommandDefinition(lockBatch, new { batchId }, tx, cancellationToken: ct));
            if (batch is null) return null;
            if (batch.State == PipelineState.Batch.Cancelled) return new RequeuedPage(batch.ToValidated(), [], Cancelled: true);
            var jobs = (await c.QueryAsync<RequeuedJob>(new CommandDefinition(requeue, new { batchId, afterSeq, limit, publishDeadline }, tx, cancellationToken: ct)))
                .OrderBy(j => j.Seq)
                .Select(j => new JobRow(j.JobId, j.Seq, PipelineState.Job.Pending, new SourceItem(j.InputBucket, j.InputKey, j.InputEtag, j.InputSize, j.Prompt, j.Manifest), j.OptionsHash, publishDeadline, null))
                .ToList();
            if (jobs.Count > 0) await c.ExecuteAsync(new CommandDefinition(reopen, new { batchId }, tx, cancellationToken: ct));
            await tx.CommitAsync(ct);
            return new RequeuedPage(batch.ToValidated(), jobs, Cancelled: false);
        }, ct);
    }

    private static Task WriteNullableAsync<T>(NpgsqlBinaryImporter importer, T? value, NpgsqlDbType type, CancellationToken ct)
        => value is null ? importer.WriteNullAsync(ct) : importer.WriteAsync(value, type, ct);
}

/// <summary>How a page's checkpoint went: written, the batch was cancelled meanwhile, or another instance holds the submission now.</summary>
public enum PageCommit { Committed, Cancelled, LeaseLost }

/// <summary>A submission taken over by a resumer: go on reading the source after <paramref name="Cursor"/>, seqs after <paramref name="Seq"/>.</summary>
public sealed record StalledSubmission(Guid BatchId, ValidatedBatch Batch, string? Cursor, int Seq, bool Cancelled);

/// <summary>A page of failed jobs put back to pending, with the settings of their batch (to build their messages).</summary>
public sealed record RequeuedPage(ValidatedBatch Batch, IReadOnlyList<JobRow> Jobs, bool Cancelled);

internal sealed record StoredBatch
{
    public string Source { get; init; } = "";
    public string SourceKind { get; init; } = "";
    public string Task { get; init; } = "";
    public string? Question { get; init; }
    public string OutputType { get; init; } = "";
    public string SamplingJson { get; init; } = "{}";
    public short Priority { get; init; }
    public string State { get; init; } = "";

    public ValidatedBatch ToValidated() => new(
        KimiAudio.Infrastructure.Storage.S3Uri.TryParse(Source, out var location) ? location : throw new InvalidOperationException($"stored batch source '{Source}' is not an s3:// address"),
        SourceKind == "manifest", Task, Question, OutputType, JsonSerializer.Deserialize<SamplingOptions>(SamplingJson) ?? new SamplingOptions(), (byte)Priority);
}

internal sealed record RequeuedJob : StoredManifestFields
{
    public Guid JobId { get; init; }
    public int Seq { get; init; }
    public string InputBucket { get; init; } = "";
    public string InputKey { get; init; } = "";
    public string? InputEtag { get; init; }
    public long? InputSize { get; init; }
    public string? Prompt { get; init; }
    public string OptionsHash { get; init; } = "";
}

/// <summary>The manifest columns of a stored job that its message carries (the sweeper and retry-failed rebuild messages from them).</summary>
internal record StoredManifestFields
{
    public double? OffsetSeconds { get; init; }
    public double? DurationSeconds { get; init; }
    public string? ReferenceText { get; init; }
    public string? Language { get; init; }

    public Manifests.ManifestItem? Manifest => OffsetSeconds is null && DurationSeconds is null && ReferenceText is null && Language is null ? null
        : new Manifests.ManifestItem { OffsetSeconds = OffsetSeconds, DurationSeconds = DurationSeconds, ReferenceText = ReferenceText, Language = Language };
}
