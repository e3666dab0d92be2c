using Dapper;
using KimiAudio.Infrastructure.Resilience;
using KimiAudio.Orchestrator.Batches;
using Npgsql;
using Polly;

namespace KimiAudio.Orchestrator.Browser;

/// <summary>The results browser's SQL: read-only. Every call runs in the "postgres" pipeline.</summary>
public sealed class BrowserRepository(NpgsqlDataSource dataSource, [FromKeyedServices(PipelineResilience.Postgres)] ResiliencePipeline pipeline)
{
    /// <summary>How much of a result text the batch page's table shows (the job page shows all of it).</summary>
    public const int ListTextChars = 300;

    // Dapper maps the part after the split to null when its first column (the text) is null: a job without a result
    private static readonly ResultSnippet NoResult = new();

    /// <summary>A page of batches, newest first, each with its job counts by state.</summary>
    public async Task<IReadOnlyList<BatchProgress>> ListBatchesAsync(int offset, int limit, CancellationToken ct)
    {
        const string batchesSql = $"""
            SELECT {BatchRepository.ProgressColumns}
              FROM batches ORDER BY created_at DESC, batch_id LIMIT @limit OFFSET @offset
            """;
        const string countsSql = """
            SELECT batch_id, state, count(*)::int AS jobs, coalesce(sum(audio_seconds), 0)::float8 AS audio_seconds
              FROM jobs WHERE batch_id = ANY(@ids) GROUP BY batch_id, state
            """;
        return await pipeline.RunAsync(dataSource, async c =>
        {
            var batches = (await c.QueryAsync<BatchProgress>(new CommandDefinition(batchesSql, new { offset, limit }, cancellationToken: ct))).ToList();
            var ids = batches.Select(b => b.BatchId).ToArray();
            var counts = (await c.QueryAsync<(Guid BatchId, string State, int Jobs, double AudioSeconds)>(
                new CommandDefinition(countsSql, new { ids }, cancellationToken: ct))).ToLookup(r => r.BatchId, r => (r.State, r.Jobs, r.AudioSeconds));
            return (IReadOnlyList<BatchProgress>)batches.Select(b => b.WithCounts(counts[b.BatchId].ToList())).ToList();
        }, ct);
    }

    /// <summary>A page of the batch's jobs in listing order (keyset by seq), with the start of each result text.</summary>
    public async Task<IReadOnlyList<JobListItem>> ListJobsAsync(Guid batchId, string? state, int after, int limit, CancellationToken ct)
    {
        const string sql = """
            SELECT j.job_id, j.seq, j.input_key, j.state, j.attempts, j.error, j.audio_seconds, j.reused_job_id,
                   left(r.text, @textChars) AS text, r.artifact_key IS NOT NULL AS has_speech, r.wer
              FROM jobs j
              LEFT JOIN results r ON r.job_id = coalesce(j.reused_job_id, j.job_id)
             WHERE j.batch_id = @batchId AND j.seq > @after AND (@state::text IS NULL OR j.state = @state)
             ORDER BY j.seq LIMIT @limit
            """;
        var rows = await pipeline.RunAsync(dataSource, c => c.QueryAsync<JobView, ResultSnippet, JobListItem>(new CommandDefinition(sql,
            new { batchId, state, after, limit, textChars = ListTextChars }, cancellationToken: ct), (job, result) => new(job, result ?? NoResult), splitOn: "text"), ct);
        return rows.ToList();
    }

    /// <summary>One job with its batch's options and its result (a skipped job shows the result it reuses); null if unknown.</summary>
    public Task<JobDetail?> GetJobAsync(Guid jobId, CancellationToken ct)
    {
        const string sql = $"""
            SELECT j.job_id, j.batch_id, j.seq, j.state, j.attempts, j.error, j.input_bucket, j.input_key, j.input_size, j.prompt,
                   j.audio_seconds, j.reused_job_id, j.created_at, j.started_at, j.finished_at, b.task, b.output_type,
                   r.text, r.artifact_bucket, r.artifact_key, r.model_id, r.reference_text, r.wer, r.cer, j.metadata::text AS metadata_json,
                   {Jobs.ResultSegments.Column}
              FROM jobs j
              JOIN batches b ON b.batch_id = j.batch_id
              LEFT JOIN results r ON r.job_id = coalesce(j.reused_job_id, j.job_id)
             WHERE j.job_id = @jobId
            """;
        return pipeline.RunAsync(dataSource, c => c.QuerySingleOrDefaultAsync<JobDetail?>(new CommandDefinition(sql, new { jobId }, cancellationToken: ct)), ct);
    }
}
