using System.Diagnostics;
using System.Net;
using KimiAudio.Orchestrator.Auth;
using KimiAudio.Pipeline.Tests.Support;
using Npgsql;

namespace KimiAudio.Pipeline.Tests;

/// <summary>
/// PostgreSQL restarted (fast shutdown, then start) twice in the middle of a batch: the worker processes and the
/// orchestrator ride through (retries of 57P01/08xxx on a cleared pool), every job succeeds once, no checkpointed
/// segment is run again, and no job is left running without a live lease.
/// </summary>
public sealed class DatabaseRestartTests : IAsyncLifetime
{
    private TestPipeline p = null!;

    public async Task InitializeAsync() => p = await TestPipeline.CreateAsync();

    public async Task DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await p.DisposeAsync();
    }

    [Fact]
    public async Task Workers_and_orchestrator_ride_through_two_postgres_restarts_mid_batch()
    {
        const int files = 48;
        for (var i = 0; i < files; i++) await p.UploadAsync($"db/f-{i:D2}.wav", TestAudio.ToneWav(i % 6 == 0 ? 40 : 2)); // some of 2 segments
        var callLog = Path.Combine(Path.GetTempPath(), $"kimia-calls-{p.Id}.log");
        var worker = new Dictionary<string, string?>
        {
            ["TestEngine:DelayMs"] = "120", ["TestEngine:MaxBatchSize"] = "2", ["TestEngine:CallLog"] = callLog,
            ["Worker:LeaseSeconds"] = "15", // outlives a restart on a loaded box: no lease runs out while the database is away
        };
        await p.StartOrchestratorAsync();
        var batchId = await p.SubmitAsync(new { source = $"s3://{p.Bucket}/db/", task = "asr" });
        var workers = new[] { p.StartWorkerProcess(worker), p.StartWorkerProcess(worker) };

        foreach (var threshold in new[] { 6, 24 })
        {
            await WaitForSucceededAsync(batchId, threshold, workers);
            await ServiceScript.RunAsync("restart", "postgres");
            NpgsqlConnection.ClearAllPools(); // this test's own connections (the services clear theirs themselves)
        }

        await p.WaitForBatchAsync(batchId, TimeSpan.FromMinutes(4));
        await PipelineAssert.AllSucceededAsync(p, batchId, files);
        Assert.All(workers, w => Assert.False(w.HasExited, "a worker process died in a PostgreSQL restart:\n" + p.Output));
        Assert.Equal(0, await p.QuerySingleAsync<int>(
            "SELECT count(*)::int FROM jobs WHERE state = 'running' AND (lease_expires_at IS NULL OR lease_expires_at < now())"));
        var segments = await p.QuerySingleAsync<int>("SELECT count(*)::int FROM job_segments");
        Assert.Equal(files + files / 6, segments);
        var calls = await File.ReadAllLinesAsync(callLog);
        var rerun = calls.GroupBy(l => l).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        Assert.True(rerun.Count == 0, $"segments run more than once: {string.Join(", ", rerun)}");
        File.Delete(callLog);
    }

    [Fact]
    public async Task While_the_database_is_down_the_api_answers_503_with_retry_after_and_recovers_when_it_is_back()
    {
        // few, short retries: the request gives up while the server is still stopped
        await p.StartOrchestratorAsync(new Dictionary<string, string?>
        {
            ["Resilience:PostgresMaxRetries"] = "2", ["Resilience:PostgresBaseDelayMs"] = "50",
        });
        await p.UploadAsync("down/a.wav", TestAudio.ToneWav(1));
        var batchId = await p.SubmitAsync(new { source = $"s3://{p.Bucket}/down/", task = "asr" });
        Assert.Equal(HttpStatusCode.OK, (await p.Api.GetAsync($"/batches/{batchId}")).StatusCode);

        await ServiceScript.RunAsync("stop", "postgres");
        try
        {
            // the key check is the first statement of every request: it must read as "unavailable", not as a bug
            foreach (var path in new[] { $"/batches/{batchId}", "/schedules" })
            {
                using var down = await p.Api.GetAsync(path);
                Assert.True(down.StatusCode == HttpStatusCode.ServiceUnavailable,
                    $"GET {path} with the database stopped: {(int)down.StatusCode} {await down.Content.ReadAsStringAsync()}");
                Assert.Equal(TimeSpan.FromSeconds(DatabaseUnavailableHandler.RetryAfterSeconds), down.Headers.RetryAfter?.Delta);
                Assert.Equal("application/problem+json", down.Content.Headers.ContentType?.MediaType);
            }
        }
        finally
        {
            await ServiceScript.RunAsync("start", "postgres");
            NpgsqlConnection.ClearAllPools();
        }

        using var back = await p.Api.GetAsync($"/batches/{batchId}");
        Assert.Equal(HttpStatusCode.OK, back.StatusCode);
    }

    private async Task WaitForSucceededAsync(Guid batchId, int atLeast, Process[] workers)
    {
        var clock = Stopwatch.StartNew();
        while (await p.QuerySingleAsync<int>("SELECT count(*)::int FROM jobs WHERE batch_id = @batchId AND state = 'succeeded'", new { batchId }) < atLeast)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(90), $"fewer than {atLeast} jobs succeeded after 90 s:\n{p.Output}");
            Assert.All(workers, w => Assert.False(w.HasExited, "a worker process exited:\n" + p.Output));
            await Task.Delay(50);
        }
    }
}
