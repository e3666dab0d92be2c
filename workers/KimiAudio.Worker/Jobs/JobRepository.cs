using Dapper;
using KimiAudio.Contracts;
using KimiAudio.Infrastructure.Resilience;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Polly;

namespace KimiAudio.Worker.Jobs;

/// <summary>The worker's SQL: leases, heartbeats, segment checkpoints and the final result. Every call runs in the "postgres" pipeline.</summary>
public sealed class JobRepository(NpgsqlDataSource dataSource, [FromKeyedServices(PipelineResilience.Postgres)] ResiliencePipeline pipeline) : IJobStore
{
    /// <summary>
    /// Takes the job if nobody may be working on it: pending/queued, or running with an expired lease. Returns the attempt number.
    /// A retry of this call (its first try failed transiently, e.g. PostgreSQL restarting) also takes the job when this worker
    /// already holds it: the first try may have committed and only its answer been lost; the attempt is then not counted twice.
    /// </summary>
    public Task<int?> TryClaimAsync(Guid jobId, string owner, int leaseSeconds, CancellationToken ct)
    {
        const string sql = $"""
            UPDATE jobs
               SET attempts = CASE WHEN @retry AND state = '{PipelineState.Job.Running}' AND lease_owner = @owner THEN attempts ELSE attempts + 1 END,
                   state = '{PipelineState.Job.Running}', lease_owner = @owner,
                   lease_expires_at = now() + make_interval(secs => @leaseSeconds), heartbeat_at = now(),
                   redeliver_at = NULL, started_at = coalesce(started_at, now())
             WHERE job_id = @jobId
               AND (state IN ('{PipelineState.Job.Pending}', '{PipelineState.Job.Queued}') OR (state = '{PipelineState.Job.Running}' AND lease_expires_at < now())
                    OR (@retry AND state = '{PipelineState.Job.Running}' AND lease_owner = @owner))
            RETURNING attempts
            """;
        var tries = 0;
        return pipeline.RunAsync(dataSource, c => c.QuerySingleOrDefaultAsync<int?>(new CommandDefinition(sql,
            new { jobId, owner, leaseSeconds = (double)leaseSeconds, retry = tries++ > 0 }, cancellationToken: ct)), ct);
    }

    /// <summary>State and lease owner of a job that could not be claimed (null: no such job).</summary>
    public Task<JobStateRow?> GetStateAsync(Guid jobId, CancellationToken ct)
    {
        const string sql = "SELECT state, lease_owner, attempts FROM jobs WHERE job_id = @jobId";
        return pipeline.RunAsync(dataSource, c => c.QuerySingleOrDefaultAsync<JobStateRow>(new CommandDefinition(sql, new { jobId }, cancellationToken: ct)), ct);
    }

    /// <summary>Extends the leases this worker still holds.</summary>
    public Task<int> RenewLeasesAsync(Guid[] jobIds, string owner, int leaseSeconds, CancellationToken ct)
    {
        const string sql = $"""
            UPDATE jobs SET heartbeat_at = now(), lease_expires_at = now() + make_interval(secs => @leaseSeconds)
             WHERE job_id = ANY(@jobIds) AND state = '{PipelineState.Job.Running}' AND lease_owner = @owner
            """;
        return pipeline.RunAsync(dataSource, c => c.ExecuteAsync(new CommandDefinition(sql, new { jobIds, owner, leaseSeconds = (double)leaseSeconds }, cancellationToken: ct)), ct);
    }

    public async Task<IReadOnlyList<SegmentCheckpoint>> GetSegmentsAsync(Guid jobId, CancellationToken ct)
    {
        const string sql = """
            SELECT segment_index, start_sample, end_sample, text, text_tokens, audio_tokens, speech_pcm16, timings::text AS timings_json
              FROM job_segments WHERE job_id = @jobId ORDER BY segment_index
            """;
        var rows = await pipeline.RunAsync(dataSource, c => c.QueryAsync<SegmentCheckpoint>(new CommandDefinition(sql, new { jobId }, cancellationToken: ct)), ct);
        return rows.ToList();
    }

    /// <summary>
    /// Checkpoints one finished segment; a second write of the same span is ignored, and one over other samples (the plan
    /// changed between attempts: another segmentation mode or length) replaces the stale row, so job_segments always
    /// holds the spans of the latest plan (the results API reads their times from it).
    /// </summary>
    public Task SaveSegmentAsync(Guid jobId, SegmentCheckpoint s, CancellationToken ct)
    {
        const string sql = """
            INSERT INTO job_segments (job_id, segment_index, start_sample, end_sample, text, text_tokens, audio_tokens, speech_pcm16, timings)
            VALUES (@jobId, @SegmentIndex, @StartSample, @EndSample, @Text, @TextTokens, @AudioTokens, @SpeechPcm16, CAST(@TimingsJson AS jsonb))
            ON CONFLICT (job_id, segment_index) DO UPDATE
               SET start_sample = EXCLUDED.start_sample, end_sample = EXCLUDED.end_sample, text = EXCLUDED.text,
                   text_tokens = EXCLUDED.text_tokens, audio_tokens = EXCLUDED.audio_tokens, speech_pcm16 = EXCLUDED.speech_pcm16,
                   timings = EXCLUDED.timings, created_at = now()
             WHERE (job_segments.start_sample, job_segments.end_sample) <> (EXCLUDED.start_sample, EXCLUDED.end_sample)
            """;
        return pipeline.RunAsync(dataSource, c => c.ExecuteAsync(new CommandDefinition(sql, new
        {
            jobId, s.SegmentIndex, s.StartSample, s.EndSample, s.Text, s.TextTokens, s.AudioTokens, s.SpeechPcm16, s.TimingsJson,
        }, cancellationToken: ct)), ct);
    }

    /// <summary>
    /// In ONE transaction: marks the job succeeded (only while this worker holds its lease) and writes its result row
    /// (ON CONFLICT DO NOTHING) with the manifest metadata and reference of its job. False when the lease was lost: then
    /// nothing is written. True on a retry that finds its own first try committed.
    /// </summary>
    public Task<bool> CompleteAsync(JobResultRow r, string owner, CancellationToken ct)
    {
        const string markSucceeded = $"""
            UPDATE jobs SET state = '{PipelineState.Job.Succeeded}', finished_at = now(), audio_seconds = @AudioSeconds, error = NULL,
                            lease_owner = NULL, lease_expires_at = NULL
             WHERE job_id = @JobId AND state = '{PipelineState.Job.Running}' AND lease_owner = @owner
            """;
        const string insertResult = """
            INSERT INTO results (job_id, batch_id, task, input_bucket, input_key, input_etag, input_size, options_hash, text,
                                 text_tokens, audio_tokens, artifact_bucket, artifact_key, audio_seconds, model_id, timings,
                                 metadata, reference_text, wer, cer, reference_words, word_substitutions, word_deletions,
                                 word_insertions, reference_chars, char_errors)
            SELECT @JobId, @BatchId, @Task, @InputBucket, @InputKey, @InputETag, @InputSize, @OptionsHash, @Text,
                   @TextTokens, @AudioTokens, @ArtifactBucket, @ArtifactKey, @AudioSeconds, @ModelId, CAST(@TimingsJson AS jsonb),
                   j.metadata, j.reference_text, @Wer, @Cer, @ReferenceWords, @WordSubstitutions, @WordDeletions,
                   @WordInsertions, @ReferenceChars, @CharErrors
              FROM jobs j WHERE j.job_id = @JobId
            ON CONFLICT (job_id) DO NOTHING
            """;
        const string committedBefore = $"SELECT EXISTS (SELECT 1 FROM jobs j JOIN results r ON r.job_id = j.job_id WHERE j.job_id = @JobId AND j.state = '{PipelineState.Job.Succeeded}')";
        var tries = 0;
        return pipeline.RunAsync(dataSource, async c =>
        {
            var retry = tries++ > 0;
            await using var tx = await c.BeginTransactionAsync(ct);
            var marked = await c.ExecuteAsync(new CommandDefinition(markSucceeded, new { r.JobId, r.AudioSeconds, owner }, tx, cancellationToken: ct));
            if (marked == 0)
            {
                // a retry whose first try committed (the answer was lost, e.g. in a PostgreSQL restart) finds the result there
                var done = retry && await c.ExecuteScalarAsync<bool>(new CommandDefinition(committedBefore, new { r.JobId }, tx, cancellationToken: ct));
                await tx.RollbackAsync(ct);
                return done;
            }
            await c.ExecuteAsync(new CommandDefinition(insertResult, r, tx, cancellationToken: ct));
            await tx.CommitAsync(ct);
            return true;
        }, ct);
    }

    /// <summary>Permanent fault: the job fails now with its reason.</summary>
    public Task<bool> FailAsync(Guid jobId, string owner, string error, double? audioSeconds, CancellationToken ct)
    {
        const string sql = $"""
            UPDATE jobs SET state = '{PipelineState.Job.Failed}', error = @error, finished_at = now(), audio_seconds = coalesce(@audioSeconds, audio_seconds),
                            lease_owner = NULL, lease_expires_at = NULL
             WHERE job_id = @jobId AND state = '{PipelineState.Job.Running}' AND lease_owner = @owner
            """;
        return pipeline.RunAsync(dataSource, async c => await c.ExecuteAsync(new CommandDefinition(sql, new { jobId, owner, error, audioSeconds }, cancellationToken: ct)) > 0, ct);
    }

    /// <summary>
    /// Transient fault after the in-step retries: the job goes back to queued with a redelivery time kept in Postgres
    /// (the orchestrator's sweeper publishes it then), or fails for good once it has used its batch's max_attempts (decided
    /// at submission). Returns the new state, or null when the lease was lost.
    /// </summary>
    public Task<string?> AttemptFailedAsync(Guid jobId, string owner, string error, double delaySeconds, CancellationToken ct)
    {
        const string sql = $"""
            UPDATE jobs j
               SET state = CASE WHEN attempts_exhausted(j.attempts, b.max_attempts) THEN '{PipelineState.Job.Failed}' ELSE '{PipelineState.Job.Queued}' END,
                   redeliver_at = CASE WHEN attempts_exhausted(j.attempts, b.max_attempts) THEN NULL ELSE now() + make_interval(secs => @delaySeconds) END,
                   finished_at = CASE WHEN attempts_exhausted(j.attempts, b.max_attempts) THEN now() END,
                   error = @error, lease_owner = NULL, lease_expires_at = NULL
              FROM batches b
             WHERE b.batch_id = j.batch_id AND j.job_id = @jobId AND j.state = '{PipelineState.Job.Running}' AND j.lease_owner = @owner
            RETURNING j.state
            """;
        return pipeline.RunAsync(dataSource, c => c.QuerySingleOrDefaultAsync<string?>(new CommandDefinition(sql, new { jobId, owner, error, delaySeconds }, cancellationToken: ct)), ct);
    }

    /// <summary>
    /// Shutdown: hands unfinished jobs back without counting the attempt, due for redelivery now (the consumer's
    /// exception may move their messages to the error queue, so the sweeper publishes them again).
    /// </summary>
    public Task<int> ReleaseAsync(Guid[] jobIds, string owner, CancellationToken ct)
    {
        const string sql = $"""
            UPDATE jobs SET state = '{PipelineState.Job.Queued}', attempts = greatest(attempts - 1, 0), lease_owner = NULL, lease_expires_at = NULL,
                            redeliver_at = now()
             WHERE job_id = ANY(@jobIds) AND state = '{PipelineState.Job.Running}' AND lease_owner = @owner
            """;
        return pipeline.RunAsync(dataSource, c => c.ExecuteAsync(new CommandDefinition(sql, new { jobIds, owner }, cancellationToken: ct)), ct);
    }
}

public sealed record JobStateRow
{
    public string State { get; init; } = "";
    public string? LeaseOwner { get; init; }
    public int Attempts { get; init; }
}
