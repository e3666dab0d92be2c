using Dapper;
using KimiAudio.Orchestrator.Sweeper;
using KimiAudio.Pipeline.Tests.Support;
using Npgsql;
using Polly;

namespace KimiAudio.Pipeline.Tests;

/// <summary>
/// The sweeper's batch completion against retry-failed, on real Postgres: failed jobs going back to pending (in a
/// transaction that holds the batch row, as <c>BatchRepository.RequeueFailedPageAsync</c> does) must never leave the
/// batch completed while those jobs are open.
/// </summary>
public sealed class BatchCompletionRaceTests : IAsyncLifetime
{
    private TestPipeline p = null!;
    private NpgsqlDataSource db = null!;

    public async Task InitializeAsync()
    {
        p = await TestPipeline.CreateAsync();
        db = NpgsqlDataSource.Create(p.ConnectionString);
    }

    public async Task DisposeAsync()
    {
        await db.DisposeAsync();
        await p.DisposeAsync();
    }

    private async Task<Guid> RunningBatchWithOneFailedJobAsync()
    {
        var batchId = Guid.NewGuid();
        await using var c = await db.OpenConnectionAsync();
        await c.ExecuteAsync("""
            INSERT INTO batches (batch_id, source, source_kind, task, output_type, sampling, state, total_jobs, submitted_at)
            VALUES (@batchId, 's3://b/p/', 'prefix', 'asr', 'text', '{}', 'running', 2, now());
            INSERT INTO jobs (job_id, batch_id, seq, state, input_bucket, input_key, options_hash, finished_at, error)
            VALUES (@ok, @batchId, 1, 'succeeded', 'b', 'p/a.wav', 'h', now(), NULL),
                   (@bad, @batchId, 2, 'failed', 'b', 'p/b.wav', 'h', now(), 'attempt 3: boom');
            """, new { batchId, ok = Guid.NewGuid(), bad = Guid.NewGuid() });
        return batchId;
    }

    private async Task<(string State, DateTime? CompletedAt)> BatchAsync(Guid batchId)
    {
        await using var c = await db.OpenConnectionAsync();
        return await c.QuerySingleAsync<(string, DateTime?)>("SELECT state, completed_at FROM batches WHERE batch_id = @batchId", new { batchId });
    }

    [Fact]
    public async Task A_sweep_during_retry_failed_does_not_complete_the_batch_whose_jobs_are_going_back_to_pending()
    {
        var batchId = await RunningBatchWithOneFailedJobAsync();
        var sweeper = new SweepRepository(db, ResiliencePipeline.Empty);

        await using (var retry = await db.OpenConnectionAsync())
        {
            await using var tx = await retry.BeginTransactionAsync();
            await retry.ExecuteAsync("SELECT 1 FROM batches WHERE batch_id = @batchId FOR UPDATE", new { batchId }, tx);
            await retry.ExecuteAsync("UPDATE jobs SET state = 'pending', attempts = 0, error = NULL, finished_at = NULL, redeliver_at = now() + interval '1 minute' WHERE batch_id = @batchId AND state = 'failed'", new { batchId }, tx);
            var sweep = Task.Run(() => sweeper.CompleteBatchesAsync(CancellationToken.None));
            await Task.WhenAny(sweep, Task.Delay(TimeSpan.FromSeconds(1))); // the sweep has read the jobs before the retry commits
            await tx.CommitAsync();
            await sweep.WaitAsync(TimeSpan.FromSeconds(30));
        }

        var (state, completedAt) = await BatchAsync(batchId);
        Assert.True(state == "running" && completedAt is null, $"batch is {state} (completed {completedAt}) while a retried job is pending");

        // a later sweep still sees the open job; once it is done, the batch completes as before
        Assert.Equal(0, await sweeper.CompleteBatchesAsync(CancellationToken.None));
        await using (var c = await db.OpenConnectionAsync())
            await c.ExecuteAsync("UPDATE jobs SET state = 'succeeded', finished_at = now() WHERE batch_id = @batchId", new { batchId });
        Assert.Equal(1, await sweeper.CompleteBatchesAsync(CancellationToken.None));
        Assert.Equal("completed", (await BatchAsync(batchId)).State);
    }
}
