using System.Net;
using System.Text.Json;
using KimiAudio.Pipeline.Tests.Support;

namespace KimiAudio.Pipeline.Tests;

/// <summary>POST /batches/{id}/retry-failed and `kimia retry-failed`: only the failed jobs run again.</summary>
public sealed class RetryFailedTests : IAsyncLifetime
{
    private TestPipeline p = null!;
    private readonly string callLog = Path.Combine(Path.GetTempPath(), $"kimia-retry-calls-{Guid.NewGuid():N}.log");

    public async Task InitializeAsync() => p = await TestPipeline.CreateAsync();

    public async Task DisposeAsync()
    {
        await p.DisposeAsync();
        File.Delete(callLog);
    }

    private sealed record JobSnapshot(Guid JobId, string InputKey, string State, int Attempts, DateTime? FinishedAt, string? Error);

    private async Task<Dictionary<string, JobSnapshot>> JobsAsync(Guid batchId)
        => (await p.QueryAsync<JobSnapshot>("SELECT job_id AS JobId, input_key AS InputKey, state AS State, attempts AS Attempts, finished_at AS FinishedAt, error AS Error FROM jobs WHERE batch_id = @batchId", new { batchId }))
            .ToDictionary(j => j.InputKey);

    private string[] EngineCalls() => File.Exists(callLog) ? File.ReadAllLines(callLog) : [];

    [Fact]
    public async Task Only_failed_jobs_run_again_failing_again_while_broken_and_succeeding_once_fixed()
    {
        for (var i = 0; i < 4; i++) await p.UploadAsync($"r/good-{i}.wav", TestAudio.ToneWav(0.5 + i * 0.5));
        await p.UploadAsync("r/bad-0.wav", TestAudio.Garbage());
        await p.UploadAsync("r/bad-1.wav", []);
        await p.StartOrchestratorAsync();
        await p.StartWorkerAsync(new Dictionary<string, string?> { ["TestEngine:CallLog"] = callLog });
        var batchId = await p.SubmitAsync(new { source = $"s3://{p.Bucket}/r/", task = "asr" });
        await p.WaitForBatchAsync(batchId, TimeSpan.FromMinutes(1));
        var before = await JobsAsync(batchId);
        Assert.Equal(2, before.Values.Count(j => j.State == "failed"));
        var callsBefore = EngineCalls();
        Assert.Equal(4, callsBefore.Length);
        var resultsBefore = await p.QueryAsync<(Guid, DateTime)>("SELECT job_id, created_at FROM results WHERE batch_id = @batchId ORDER BY job_id", new { batchId });

        // 1) still broken: the two run again (fresh attempts) and fail again; nothing else runs
        var response = await p.Api.PostAsync($"/batches/{batchId}/retry-failed", null);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(2, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("requeuedJobs").GetInt32());
        var reopened = await p.GetBatchAsync(batchId);
        Assert.Equal("running", reopened.GetProperty("state").GetString());
        Assert.Equal(JsonValueKind.Null, reopened.GetProperty("completedAt").ValueKind);
        var batch = await p.WaitForBatchAsync(batchId, TimeSpan.FromMinutes(1));
        Assert.Equal("completed", batch.GetProperty("state").GetString());
        var again = await JobsAsync(batchId);
        foreach (var bad in new[] { "r/bad-0.wav", "r/bad-1.wav" })
        {
            Assert.Equal("failed", again[bad].State);
            Assert.Equal(1, again[bad].Attempts); // reset, then one (permanent) attempt
            Assert.False(string.IsNullOrWhiteSpace(again[bad].Error));
            Assert.True(again[bad].FinishedAt > before[bad].FinishedAt);
        }
        foreach (var good in before.Values.Where(j => j.State == "succeeded")) Assert.Equal(good, again[good.InputKey]);
        Assert.Equal(callsBefore, EngineCalls());
        Assert.Equal(resultsBefore, await p.QueryAsync<(Guid, DateTime)>("SELECT job_id, created_at FROM results WHERE batch_id = @batchId ORDER BY job_id", new { batchId }));

        // 2) fixed files, retried through the CLI: both succeed; the engine ran for them only
        await p.UploadAsync("r/bad-0.wav", TestAudio.ToneWav(1.25));
        await p.UploadAsync("r/bad-1.wav", TestAudio.ToneWav(0.75));
        var env = new Dictionary<string, string?> { ["KIMIA_API"] = p.Api.BaseAddress!.ToString(), ["KIMIA_API_KEY"] = p.ApiKey };
        var cli = await KimiaCli.RunAsync(env, "retry-failed", batchId.ToString());
        Assert.True(cli.ExitCode == 0, cli.ToString());
        Assert.Equal("2", cli.Stdout);
        await p.WaitForBatchAsync(batchId, TimeSpan.FromMinutes(1));
        await PipelineAssert.AllSucceededAsync(p, batchId, 6);
        var after = await JobsAsync(batchId);
        foreach (var good in before.Values.Where(j => j.State == "succeeded")) Assert.Equal(good, after[good.InputKey]);
        var newCalls = EngineCalls().Skip(callsBefore.Length).Select(l => Guid.Parse(l.Split(' ')[0])).ToHashSet();
        Assert.Equal(new[] { before["r/bad-0.wav"].JobId, before["r/bad-1.wav"].JobId }.ToHashSet(), newCalls);
        Assert.Equal(6, await p.QuerySingleAsync<int>("SELECT count(*)::int FROM results WHERE batch_id = @batchId", new { batchId }));

        // 3) nothing failed any more: nothing to do, the batch stays completed
        var none = await KimiaCli.RunAsync(env, "retry-failed", batchId.ToString());
        Assert.True(none.ExitCode == 0, none.ToString());
        Assert.Equal("0", none.Stdout);
        Assert.Equal("completed", (await p.GetBatchAsync(batchId)).GetProperty("state").GetString());
    }

    [Fact]
    public async Task An_unknown_batch_is_404_and_a_cancelled_batch_is_409_with_a_reason()
    {
        await p.UploadAsync("c/a.wav", TestAudio.ToneWav(0.5));
        await p.StartOrchestratorAsync(); // no worker: the job stays queued until cancelled
        var env = new Dictionary<string, string?> { ["KIMIA_API"] = p.Api.BaseAddress!.ToString(), ["KIMIA_API_KEY"] = p.ApiKey };
        Assert.Equal(HttpStatusCode.NotFound, (await p.Api.PostAsync($"/batches/{Guid.NewGuid()}/retry-failed", null)).StatusCode);
        var unknown = await KimiaCli.RunAsync(env, "retry-failed", Guid.NewGuid().ToString());
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("404", unknown.Stderr);

        var batchId = await p.SubmitAsync(new { source = $"s3://{p.Bucket}/c/", task = "asr" });
        var cancel = await KimiaCli.RunAsync(env, "cancel", batchId.ToString());
        Assert.True(cancel.ExitCode == 0, cancel.ToString());
        Assert.Equal("1", cancel.Stdout);
        var response = await p.Api.PostAsync($"/batches/{batchId}/retry-failed", null);
        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Contains("is cancelled", JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("detail").GetString());
        var cli = await KimiaCli.RunAsync(env, "retry-failed", batchId.ToString());
        Assert.Equal(1, cli.ExitCode);
        Assert.Contains("409", cli.Stderr);
        Assert.Contains("is cancelled", cli.Stderr);
        Assert.Equal("cancelled", await p.QuerySingleAsync<string>("SELECT state FROM jobs WHERE batch_id = @batchId", new { batchId }));
    }
}
