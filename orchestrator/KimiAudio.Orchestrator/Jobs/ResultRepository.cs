using System.Runtime.CompilerServices;
using Dapper;
using KimiAudio.Orchestrator.Export;
using KimiAudio.Infrastructure.Resilience;
using Npgsql;
using Polly;

namespace KimiAudio.Orchestrator.Jobs;

/// <summary>
/// Jobs with their results across batches: filtered pages (GET /results), one job (GET /jobs/{id}) and the unbuffered
/// row stream of the exports. Order everywhere: newest batch first, then the batch's files in listing order.
/// </summary>
public sealed class ResultRepository(NpgsqlDataSource dataSource, [FromKeyedServices(PipelineResilience.Postgres)] ResiliencePipeline pipeline)
{
    private const string Columns = $"""
        j.job_id, j.batch_id, j.seq, j.input_bucket, j.input_key, b.task, j.state, j.attempts, j.error,
        coalesce(r.audio_seconds, j.audio_seconds) AS audio_seconds, j.started_at, j.finished_at, j.reused_job_id,
        b.created_at AS batch_created_at, r.job_id IS NOT NULL AS has_result, r.text,
        cardinality(r.text_tokens) AS text_token_count, cardinality(r.audio_tokens) AS audio_token_count,
        r.artifact_bucket, r.artifact_key, r.model_id, r.timings::text AS timings_json, r.created_at AS result_created_at,
        {ResultSegments.Column},
        j.metadata::text AS metadata_json, j.offset_seconds, j.duration_seconds, j.language, r.reference_text, r.wer, r.cer,
        r.reference_words, r.word_substitutions, r.word_deletions, r.word_insertions, r.reference_chars, r.char_errors
        """;

    private const string Joins = """
          FROM jobs j
          JOIN batches b ON b.batch_id = j.batch_id
          LEFT JOIN results r ON r.job_id = coalesce(j.reused_job_id, j.job_id)
        """;

    private const string Filters = """
         WHERE (@batchId::uuid IS NULL OR j.batch_id = @batchId)
           AND (@task::text IS NULL OR b.task = @task)
           AND (@state::text IS NULL OR j.state = @state)
           AND (@pattern::text IS NULL OR r.text ILIKE @pattern)
           AND (@minWer::float8 IS NULL OR r.wer >= @minWer)
           AND (@maxWer::float8 IS NULL OR r.wer <= @maxWer)
        """;

    private const string FromWhere = Joins + Filters;

    private const string Order = "ORDER BY b.created_at DESC, b.batch_id DESC, j.seq";

    /// <summary>
    /// One page. Without text search the batches are walked newest first (index batches_created) and each batch's jobs
    /// are read in seq order through the (batch_id, seq) index, at most <paramref name="limit"/> per batch: a page costs
    /// about its own size however deep it is. With text search the trigram index finds the results first (a WER bound
    /// takes the same plan: results_batch_wer serves it within a batch).
    /// </summary>
    public async Task<IReadOnlyList<JobResultView>> ListAsync(ResultFilter filter, PageCursor? after, int limit, CancellationToken ct)
    {
        const string pageSql = $"""
            SELECT {Columns}
              FROM batches b
             CROSS JOIN LATERAL (
                   SELECT * FROM jobs j
                    WHERE j.batch_id = b.batch_id
                      AND j.seq > CASE WHEN b.batch_id = @afterBatch THEN @afterSeq ELSE 0 END
                      AND (@state::text IS NULL OR j.state = @state)
                    ORDER BY j.seq LIMIT @limit) j
              LEFT JOIN results r ON r.job_id = coalesce(j.reused_job_id, j.job_id)
             WHERE (@batchId::uuid IS NULL OR b.batch_id = @batchId)
               AND (@task::text IS NULL OR b.task = @task)
               AND (@afterCreated::timestamptz IS NULL OR (b.created_at, b.batch_id) <= (@afterCreated, @afterBatch))
            {Order}
             LIMIT @limit
            """;
        const string searchSql = $"""
            SELECT {Columns}
            {FromWhere}
               AND (@afterCreated::timestamptz IS NULL OR b.created_at < @afterCreated
                    OR (b.created_at = @afterCreated AND (b.batch_id < @afterBatch OR (b.batch_id = @afterBatch AND j.seq > @afterSeq))))
            {Order}
             LIMIT @limit
            """;
        var args = new
        {
            batchId = filter.BatchId, task = filter.Task, state = filter.State, pattern = filter.TextPattern, minWer = filter.MinWer, maxWer = filter.MaxWer,
            afterCreated = after?.CreatedAt, afterBatch = after?.BatchId, afterSeq = after?.Seq ?? 0, limit,
        };
        // a WER bound filters on the result, which the per-batch walk cannot page by: it takes the search plan too
        var sql = filter.TextPattern is null && !filter.FiltersWer ? pageSql : searchSql;
        var rows = await pipeline.RunAsync(dataSource, c => c.QueryAsync<JobResultRow>(new CommandDefinition(sql, args, cancellationToken: ct)), ct);
        return rows.Select(r => r.ToView()).ToList();
    }

    /// <summary>One job with its result, including the token arrays; null for an unknown id.</summary>
    public async Task<JobResultView?> GetJobAsync(Guid jobId, CancellationToken ct)
    {
        const string sql = $"""
            SELECT {Columns}, r.text_tokens, r.audio_tokens
              FROM jobs j
              JOIN batches b ON b.batch_id = j.batch_id
              LEFT JOIN results r ON r.job_id = coalesce(j.reused_job_id, j.job_id)
             WHERE j.job_id = @jobId
            """;
        var row = await pipeline.RunAsync(dataSource, c => c.QuerySingleOrDefaultAsync<JobResultRow>(new CommandDefinition(sql, new { jobId }, cancellationToken: ct)), ct);
        return row?.ToView();
    }

    /// <summary>The metadata keys of the matching rows (in key order) with the one type their values share.</summary>
    public async Task<IReadOnlyList<MetadataColumn>> MetadataColumnsAsync(ResultFilter filter, CancellationToken ct)
    {
        const string sql = $"""
            SELECT m.key, array_agg(DISTINCT jsonb_typeof(m.value)) AS types
            {Joins}
             CROSS JOIN LATERAL jsonb_each(j.metadata) m
            {Filters}
             GROUP BY m.key ORDER BY m.key
            """;
        var rows = await pipeline.RunAsync(dataSource, c => c.QueryAsync<(string Key, string[] Types)>(new CommandDefinition(sql, Args(filter), cancellationToken: ct)), ct);
        return [.. rows.Select(r => MetadataColumn.FromJsonTypes(r.Key, r.Types))];
    }

    /// <summary>The batch's corpus scores (null when nothing is scored).</summary>
    public Task<Batches.BatchQuality?> BatchQualityAsync(Guid batchId, CancellationToken ct)
        => pipeline.RunAsync(dataSource, c => Batches.BatchRepository.QualityAsync(c, batchId, ct), ct);

    /// <summary>
    /// The transcribed segments of the matching files that have a result, in file then segment order, read as the
    /// caller consumes them (the Lhotse export). A skipped file's segments are those of the result it reuses.
    /// </summary>
    public async IAsyncEnumerable<SegmentExportRow> StreamSegmentsAsync(ResultFilter filter, [EnumeratorCancellation] CancellationToken ct)
    {
        const string sql = $"""
            SELECT j.job_id, j.input_bucket, j.input_key, j.offset_seconds, j.language, j.metadata::text AS metadata_json,
                   s.segment_index, s.start_sample, s.end_sample, s.text
            {Joins}
              JOIN job_segments s ON s.job_id = r.job_id
            {Filters}
             ORDER BY b.created_at DESC, b.batch_id DESC, j.seq, s.segment_index
            """;
        await using var connection = await pipeline.ExecuteAsync(async token => await dataSource.OpenConnectionAsync(token), ct);
        await foreach (var row in connection.QueryUnbufferedAsync<SegmentExportRow>(sql, Args(filter), commandTimeout: 600).WithCancellation(ct))
            yield return row;
    }

    private static object Args(ResultFilter filter)
        => new { batchId = filter.BatchId, task = filter.Task, state = filter.State, pattern = filter.TextPattern, minWer = filter.MinWer, maxWer = filter.MaxWer };

    /// <summary>
    /// Every matching row, read as the caller consumes them (an unbuffered reader on one connection: memory stays flat
    /// however large the batch). Only opening the connection is retried; a fault mid-stream ends the export.
    /// </summary>
    public async IAsyncEnumerable<JobResultRow> StreamAsync(ResultFilter filter, [EnumeratorCancellation] CancellationToken ct)
    {
        // one batch: its (batch_id, seq) index gives the order without a sort; across batches Postgres sorts (spilling to disk)
        const string batchSql = $"""
            SELECT {Columns}
            {FromWhere}
             ORDER BY j.seq
            """;
        const string allSql = $"""
            SELECT {Columns}
            {FromWhere}
            {Order}
            """;
        var sql = filter.BatchId is null ? allSql : batchSql;
        await using var connection = await pipeline.ExecuteAsync(async token => await dataSource.OpenConnectionAsync(token), ct);
        await foreach (var row in connection.QueryUnbufferedAsync<JobResultRow>(sql, Args(filter), commandTimeout: 600).WithCancellation(ct))
            yield return row;
    }
}
