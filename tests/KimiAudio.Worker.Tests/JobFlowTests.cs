using System.Collections.Concurrent;
using KimiAudio.Contracts;
using KimiAudio.Worker.Jobs;
using KimiAudio.Worker.Tests.Support;
using KimiAudio.Worker.TestHost;
using MassTransit.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace KimiAudio.Worker.Tests;

/// <summary>Messages through the worker's consumer on the in-memory bus: one message per job, jobs sharing the engine's slots.</summary>
public sealed class JobFlowTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Each_job_lands_its_result_while_the_model_still_runs_later_jobs()
    {
        await using var w = await WorkerHarness.StartAsync(new Dictionary<string, string?>
        {
            ["TestEngine:MaxBatchSize"] = "2", ["TestEngine:DelayMs"] = "300", ["Worker:MaxJobsInFlight"] = "6",
        });
        var starts = new ConcurrentBag<DateTime>();
        w.Engine.OnStart = _ => starts.Add(DateTime.UtcNow);
        var jobs = new List<ProcessAudio>();
        for (var i = 0; i < 6; i++) jobs.Add(await w.AddJobAsync($"a/{i}.wav", 1));
        await w.PublishAsync([.. jobs]);
        await w.WaitForAsync(jobs, WorkerHarness.Terminal, Timeout);

        Assert.All(jobs, j => Assert.Equal("succeeded", w.Jobs.StateOf(j.JobId)));
        Assert.All(jobs, j => Assert.Equal(DeterministicEngine.ExpectedText("asr", 0, 16000), w.Jobs.Results[j.JobId].Row.Text));
        var firstResult = w.Jobs.Results.Values.Min(r => r.At);
        Assert.True(firstResult < starts.Max(), "the first result was written only after the last job entered the model");
        Assert.Equal(2, w.Engine.PeakActive); // both slots busy, never more
    }

    [Fact]
    public async Task A_slow_job_does_not_hold_back_fast_ones()
    {
        await using var w = await WorkerHarness.StartAsync(new Dictionary<string, string?>
        {
            ["TestEngine:MaxBatchSize"] = "2", ["TestEngine:DelayMs"] = "20", ["TestEngine:SlowPrompt"] = "slow", ["TestEngine:SlowDelayMs"] = "4000",
            ["Worker:MaxJobsInFlight"] = "4",
        });
        var slow = await w.AddJobAsync("s/slow.wav", 1, prompt: "slow");
        var fast = new List<ProcessAudio>();
        for (var i = 0; i < 10; i++) fast.Add(await w.AddJobAsync($"s/fast-{i}.wav", 1));
        await w.PublishAsync(slow);
        await w.PublishAsync([.. fast]);

        await w.WaitForAsync(fast, s => s == "succeeded", Timeout);
        Assert.Equal("running", w.Jobs.StateOf(slow.JobId));
        await w.WaitForAsync([slow], s => s == "succeeded", Timeout);
    }

    [Fact]
    public async Task Segments_of_different_jobs_share_the_engine_slots()
    {
        await using var w = await WorkerHarness.StartAsync(new Dictionary<string, string?>
        {
            ["TestEngine:MaxBatchSize"] = "4", ["TestEngine:DelayMs"] = "300",
        });
        var a = await w.AddJobAsync("m/a.wav", 45); // segments of 30 s + 15 s
        var b = await w.AddJobAsync("m/b.wav", 45);
        await w.PublishAsync(a, b);
        await w.WaitForAsync([a, b], WorkerHarness.Terminal, Timeout);

        Assert.Equal(4, w.Engine.PeakActive); // all four segments of the two jobs were in the model together
        foreach (var job in new[] { a, b })
            Assert.Equal("asr#0:480000 asr#1:240000", w.Jobs.Results[job.JobId].Row.Text);
    }

    [Fact]
    public async Task The_prefetch_budget_bounds_the_decoded_audio_held_ahead_of_the_model()
    {
        await using var w = await WorkerHarness.StartAsync(new Dictionary<string, string?>
        {
            ["TestEngine:MaxBatchSize"] = "1", ["TestEngine:DelayMs"] = "40",
            ["Worker:MaxJobsInFlight"] = "12", ["Worker:PrefetchAudioSeconds"] = "3", ["Worker:DownloadParallelism"] = "1",
        });
        var jobs = new List<ProcessAudio>();
        for (var i = 0; i < 12; i++) jobs.Add(await w.AddJobAsync($"p/{i:D2}.wav", 1));
        await w.PublishAsync([.. jobs]);
        await w.WaitForAsync(jobs, s => s == "succeeded", Timeout);

        // held: < 3 s when the last preparation started, plus the one second it decoded
        Assert.True(w.Budget.PeakHeldSeconds <= 4, $"{w.Budget.PeakHeldSeconds} s of decoded audio held at once");
        Assert.True(w.Budget.PeakHeldSeconds >= 2, $"{w.Budget.PeakHeldSeconds} s at most: nothing was decoded ahead of the model");
        Assert.Equal(0, w.Budget.HeldSeconds);
    }

    [Fact]
    public async Task A_job_resumes_at_its_first_unfinished_segment()
    {
        await using var w = await WorkerHarness.StartAsync();
        var job = await w.AddJobAsync("r/long.wav", 70); // 30 + 30 + 10 s
        w.Jobs.Seed(job.JobId, new SegmentCheckpoint { SegmentIndex = 0, StartSample = 0, EndSample = 480000, Text = "from before" });
        var ran = new ConcurrentBag<int>();
        w.Engine.OnStart = r => ran.Add(r.SegmentIndex);
        await w.PublishAsync(job);
        await w.WaitForAsync([job], WorkerHarness.Terminal, Timeout);

        Assert.Equal([1, 2], ran.Order());
        Assert.Equal("from before asr#1:480000 asr#2:160000", w.Jobs.Results[job.JobId].Row.Text);
    }

    [Fact]
    public async Task Faults_are_each_jobs_own_permanent_ones_fail_now_and_transient_ones_are_retried_or_exhausted()
    {
        await using var w = await WorkerHarness.StartAsync(new Dictionary<string, string?> { ["TestEngine:FailPrompt"] = "boom" });
        var ok = await w.AddJobAsync("f/ok.wav", 1);
        var corrupt = await w.AddJobAsync("f/corrupt.wav", 0, bytes: "RIFF not really a wave file"u8.ToArray());
        var retried = await w.AddJobAsync("f/retried.wav", 1, prompt: "boom", maxAttempts: 3);
        var exhausted = await w.AddJobAsync("f/exhausted.wav", 1, prompt: "boom", maxAttempts: 1);
        await w.PublishAsync(ok, corrupt, retried, exhausted);
        await w.WaitForAsync([ok, corrupt, exhausted], WorkerHarness.Terminal, Timeout);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (w.Jobs.Get(retried.JobId) is not { State: "queued", Attempts: 1 })
        {
            Assert.True(clock.Elapsed < Timeout, "the failing job's attempt was never recorded");
            await Task.Delay(10);
        }

        Assert.Equal("succeeded", w.Jobs.StateOf(ok.JobId));
        Assert.Equal("failed", w.Jobs.StateOf(corrupt.JobId));
        Assert.StartsWith("undecodable audio", w.Jobs.Get(corrupt.JobId).Error);
        var again = w.Jobs.Get(retried.JobId);
        Assert.Equal("queued", again.State);
        Assert.StartsWith("attempt 1: InvalidOperationException: simulated transient engine failure", again.Error);
        Assert.InRange(again.RedeliverAfterSeconds!.Value, 0.8, 1.2); // base 1 s on attempt 1, ±20 %
        Assert.Equal("failed", w.Jobs.StateOf(exhausted.JobId));
        Assert.True(await w.Harness.Sent.Any<ProcessAudio>(s => s.Context.Message.JobId == exhausted.JobId
            && s.Context.DestinationAddress!.AbsolutePath.EndsWith("process-audio_error", StringComparison.Ordinal)));
        Assert.False(await w.Harness.Sent.Any<ProcessAudio>(s => s.Context.Message.JobId == retried.JobId));
    }

    [Fact]
    public async Task A_message_delivered_twice_runs_its_job_once()
    {
        await using var w = await WorkerHarness.StartAsync(new Dictionary<string, string?> { ["TestEngine:DelayMs"] = "200" });
        var job = await w.AddJobAsync("d/a.wav", 1);
        var runs = 0;
        w.Engine.OnStart = _ => Interlocked.Increment(ref runs);
        await w.PublishAsync(job, job);
        await w.WaitForAsync([job], WorkerHarness.Terminal, Timeout);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (w.Harness.Consumed.Select<ProcessAudio>().Count() < 2)
        {
            Assert.True(clock.Elapsed < Timeout, "the second copy was never consumed");
            await Task.Delay(10);
        }

        Assert.Equal(1, runs);
        Assert.Equal(1, w.Jobs.Get(job.JobId).Attempts);
        Assert.Single(w.Jobs.Results);
    }

    [Fact]
    public async Task A_job_hung_in_the_model_loses_its_lease_stops_the_worker_and_is_handed_back()
    {
        var w = await WorkerHarness.StartAsync(new Dictionary<string, string?>
        {
            ["TestEngine:HangPrompt"] = "hang", ["Worker:StallSeconds"] = "1", ["Worker:LeaseSeconds"] = "2",
        });
        var hung = await w.AddJobAsync("h/hung.wav", 1, prompt: "hang");
        await w.PublishAsync(hung);
        var lifetime = w.Services.GetRequiredService<IHostApplicationLifetime>();
        var heartbeat = w.Services.GetRequiredService<LeaseHeartbeat>();
        await Task.Delay(System.Threading.Timeout.Infinite, lifetime.ApplicationStopping).ContinueWith(_ => { }).WaitAsync(Timeout);

        Assert.Contains(hung.JobId, heartbeat.Tracked);
        Assert.DoesNotContain(hung.JobId, heartbeat.Alive());
        Assert.Equal("running", w.Jobs.StateOf(hung.JobId));
        await w.DisposeAsync(); // shutdown cancels the consumer: the job is handed back without counting the attempt
        var row = w.Jobs.Get(hung.JobId);
        Assert.Equal(("queued", 0), (row.State, row.Attempts));
    }

    [Fact]
    public async Task A_job_waiting_outside_the_model_keeps_its_lease()
    {
        await using var w = await WorkerHarness.StartAsync(new Dictionary<string, string?>
        {
            ["TestEngine:MaxBatchSize"] = "1", ["TestEngine:DelayMs"] = "1200",
            ["Worker:MaxInFlightSegments"] = "1", ["Worker:StallSeconds"] = "2", ["Worker:LeaseSeconds"] = "2",
        });
        var busy = await w.AddJobAsync("w/busy.wav", 100); // 4 segments of 1.2 s each: progress every 1.2 s, under the stall limit
        var waiting = await w.AddJobAsync("w/waiting.wav", 1);
        await w.PublishAsync(busy);
        while (w.Engine.PeakActive == 0) await Task.Delay(10);
        await w.PublishAsync(waiting);
        await w.WaitForAsync([busy, waiting], s => s == "succeeded", Timeout);
        // the waiting job spent ~3.6 s (over its stall limit) waiting for the only in-flight place, renewed all along
        Assert.True(w.Jobs.Get(waiting.JobId).Renewals >= 3, $"{w.Jobs.Get(waiting.JobId).Renewals} renewals");
        Assert.False(w.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.IsCancellationRequested, "the worker took a wait for a stall");
    }

    [Fact]
    public async Task Limits_out_of_range_fail_the_start()
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => WorkerHarness.StartAsync(new Dictionary<string, string?> { ["Worker:PrefetchAudioSeconds"] = "0" }));
        Assert.Contains("PrefetchAudioSeconds", error.Message);
    }
}
