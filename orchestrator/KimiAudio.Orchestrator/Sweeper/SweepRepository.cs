using System.Text.Json;
using Dapper;
using KimiAudio.Contracts;
using KimiAudio.Infrastructure.Resilience;
using KimiAudio.Orchestrator.Batches;
using Npgsql;
using Polly;

namespace KimiAudio.Orchestrator.Sweeper;

/// <summary>SQL of the sweeper: expired leases, due redeliveries and batch completion.</summary>
public sealed class SweepRepository(NpgsqlDataSource dataSource, [FromKeyedServices(PipelineResilience.Postgres)] ResiliencePipeline pipeline)
{
    /// <summary>
    /// Running jobs whose worker stopped heartbeating go back to queued (due now), or fail on their last attempt (the
    /// limit is the batch's max_attempts, decided at submission; the rule is SQL function attempts_exhausted, migration 0009).
    /// </summary>
    public Task<int> ExpireLeasesAsync(CancellationToken ct)
    {
        const string sql = $"""
            UPDATE jobs j
               SET state = CASE WHEN attempts_exhausted(j.attempts, b.max_attempts) THEN '{PipelineState.Job.Failed}' ELSE '{PipelineState.Job.Queued}' END,
                   redeliver_at = CASE WHEN attempts_exhausted(j.attempts, b.max_attempts) THEN NULL ELSE now() END,
                   finished_at = CASE WHEN attempts_exhausted(j.attempts, b.max_attempts) THEN now() END,
                   error = 'attempt ' || j.attempts || ': lease expired (worker ' || coalesce(j.lease_owner, '?') || ' stopped heartbeating)',
                   lease_owner = NULL, lease_expires_at = NULL
              FROM batches b
             WHERE b.batch_id = j.batch_id AND j.state = '{PipelineState.Job.Running}' AND j.lease_expires_at < now()
            """;
        return pipeline.RunAsync(dataSource, c => c.ExecuteAsync(new CommandDefinition(sql, cancellationToken: ct)), ct);
    }

    /// <summary>
    /// Publishes the jobs whose redelivery is due, inside a transaction that holds their rows (SKIP LOCKED, so several
    /// orchestrators never publish the same job twice); the rows are marked only after every publish succeeded. Not the
    /// pages of a submission whose submitter holds its lease: those are its own to publish (once it is gone, the sweeper's).
    /// </summary>
    public Task<int> RepublishDueAsync(int limit, Func<IReadOnlyList<(ProcessAudio Message, byte Priority)>, Task> publish, CancellationToken ct)
    {
        const string select = $"""
            SELECT j.job_id, j.batch_id, j.input_bucket, j.input_key, j.input_etag, j.input_size, j.prompt, j.options_hash,
                   j.offset_seconds, j.duration_seconds, j.reference_text, j.language, b.task, b.question, b.output_type, b.sampling::text AS sampling_json, b.priority
              FROM jobs j JOIN batches b ON b.batch_id = j.batch_id
             WHERE j.redeliver_at <= now() AND j.state IN ('{PipelineState.Job.Pending}', '{PipelineState.Job.Queued}')
               -- a page of a live submission is published by its submitter (republishing it would send it twice)
               AND NOT (j.state = '{PipelineState.Job.Pending}' AND b.state = '{PipelineState.Batch.Submitting}' AND b.submit_lease_expires_at > now())
             ORDER BY j.redeliver_at
             LIMIT @limit
               FOR UPDATE OF j SKIP LOCKED
            """;
        const string markQueued = $"UPDATE jobs SET state = '{PipelineState.Job.Queued}', redeliver_at = NULL WHERE job_id = ANY(@jobIds)";
        return pipeline.RunAsync(dataSource, async c =>
        {
            await using var tx = await c.BeginTransactionAsync(ct);
            var due = (await c.QueryAsync<DueJob>(new CommandDefinition(select, new { limit }, tx, cancellationToken: ct))).ToList();
            if (due.Count == 0) return 0;
            await publish(due.Select(d => (d.ToMessage(), (byte)d.Priority)).ToList());
            await c.ExecuteAsync(new CommandDefinition(markQueued, new { jobIds = due.Select(d => d.JobId).ToArray() }, tx, cancellationToken: ct));
            await tx.CommitAsync(ct);
            return due.Count;
        }, ct);
    }

    /// <summary>
    /// Batches whose jobs are all terminal are completed (a cancelled batch keeps its state and gets its end time).
    /// The candidate batches are locked first (SKIP LOCKED) and their jobs read by a later statement: retry-failed puts
    /// failed jobs back to pending under the batch's row lock, and a single UPDATE would judge the jobs by a snapshot
    /// taken before that commit, completing a batch whose retried jobs are open.
    /// </summary>
    public Task<int> CompleteBatchesAsync(CancellationToken ct)
    {
        const string lockCandidates = $"""
            SELECT batch_id FROM batches
             WHERE state IN ('{PipelineState.Batch.Running}', '{PipelineState.Batch.Cancelled}') AND completed_at IS NULL AND submitted_at IS NOT NULL
             ORDER BY batch_id
               FOR UPDATE SKIP LOCKED
            """;
        const string complete = $"""
            UPDATE batches b
               SET state = CASE WHEN b.state = '{PipelineState.Batch.Running}' THEN '{PipelineState.Batch.Completed}' ELSE b.state END, completed_at = now()
             WHERE b.batch_id = ANY(@batchIds)
               AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.batch_id = b.batch_id AND j.state IN ('{PipelineState.Job.Pending}', '{PipelineState.Job.Queued}', '{PipelineState.Job.Running}'))
            """;
        return pipeline.RunAsync(dataSource, async c =>
        {
            await using var tx = await c.BeginTransactionAsync(ct);
            var batchIds = (await c.QueryAsync<Guid>(new CommandDefinition(lockCandidates, transaction: tx, cancellationToken: ct))).ToArray();
            var completed = batchIds.Length == 0 ? 0
                : await c.ExecuteAsync(new CommandDefinition(complete, new { batchIds }, tx, cancellationToken: ct));
            await tx.CommitAsync(ct);
            return completed;
        }, ct);
    }

    private sealed record DueJob : StoredManifestFields
    {
        public Guid JobId { get; init; }
        public Guid BatchId { get; init; }
        public string InputBucket { get; init; } = "";
        public string InputKey { get; init; } = "";
        public string? InputEtag { get; init; }
        public long? InputSize { get; init; }
        public string? Prompt { get; init; }
        public string OptionsHash { get; init; } = "";
        public string Task { get; init; } = "";
        public string? Question { get; init; }
        public string OutputType { get; init; } = "";
        public string SamplingJson { get; init; } = "{}";
        public short Priority { get; init; }

        public ProcessAudio ToMessage() => ProcessAudioFactory.Create(
            BatchId, JobId, new SourceItem(InputBucket, InputKey, InputEtag, InputSize, Prompt, Manifest), OptionsHash, Task, Question, OutputType,
            JsonSerializer.Deserialize<SamplingOptions>(SamplingJson) ?? new SamplingOptions());
    }
}
