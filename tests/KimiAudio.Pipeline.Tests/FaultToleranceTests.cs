using System.Diagnostics;
using KimiAudio.Contracts;
using KimiAudio.Infrastructure.Data;
using KimiAudio.Pipeline.Tests.Support;
using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace KimiAudio.Pipeline.Tests;

/// <summary>Each fault in its own test; every one ends with nothing lost and nothing duplicated.</summary>
public sealed class FaultToleranceTests : IAsyncLifetime
{
    private TestPipeline p = null!;

    public async Task InitializeAsync() => p = await TestPipeline.CreateAsync();

    public async Task DisposeAsync() => await p.DisposeAsync();

    [Fact]
    public async Task A_worker_killed_mid_batch_loses_nothing_and_a_long_job_resumes_at_its_first_unfinished_segment()
    {
        await p.UploadAsync("k/a-long.wav", TestAudio.ToneWav(100)); // 4 segments of ≤ 30 s
        for (var i = 0; i < 19; i++) await p.UploadAsync($"k/b-{i:D2}.wav", TestAudio.ToneWav(1));
        var callLog = Path.Combine(Path.GetTempPath(), $"kimia-calls-{p.Id}.log");
        var engine = new Dictionary<string, string?>
        {
            ["TestEngine:DelayMs"] = "400", ["TestEngine:MaxBatchSize"] = "2", ["TestEngine:CallLog"] = callLog, ["Worker:LeaseSeconds"] = "3",
        };
        await p.StartOrchestratorAsync();
        var batchId = await p.SubmitAsync(new { source = $"s3://{p.Bucket}/k/", task = "asr" });
        var longJob = await p.QuerySingleAsync<Guid>("SELECT job_id FROM jobs WHERE batch_id = @batchId AND input_key = 'k/a-long.wav'", new { batchId });

        var first = p.StartWorkerProcess(engine);
        var clock = Stopwatch.StartNew();
        while (await p.QuerySingleAsync<int>("SELECT count(*)::int FROM job_segments WHERE job_id = @longJob", new { longJob }) == 0)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), "the first worker never checkpointed a segment:\n" + p.Output);
            Assert.False(first.HasExited, "the first worker exited:\n" + p.Output);
            await Task.Delay(25);
        }
        first.Kill(); // SIGKILL
        await first.WaitForExitAsync();
        var segmentsBeforeKill = await p.QuerySingleAsync<int>("SELECT count(*)::int FROM job_segments WHERE job_id = @longJob", new { longJob });
        Assert.True(segmentsBeforeKill < 4, "the long job finished before the kill; the test proves nothing");

        p.StartWorkerProcess(engine);
        await p.WaitForBatchAsync(batchId, TimeSpan.FromMinutes(3));

        await PipelineAssert.AllSucceededAsync(p, batchId, 20);
        var longResult = await p.QuerySingleAsync<string>("SELECT text FROM results WHERE job_id = @longJob", new { longJob });
        Assert.Equal("asr#0:480000 asr#1:480000 asr#2:480000 asr#3:160000", longResult);
        Assert.True(await p.QuerySingleAsync<int>("SELECT attempts FROM jobs WHERE job_id = @longJob", new { longJob }) >= 2);
        // the segment checkpointed before the kill was not run again after it
        var calls = await File.ReadAllLinesAsync(callLog);
        Assert.Equal(1, calls.Count(l => l == $"{longJob} 0"));
        File.Delete(callLog);
    }

    [Fact]
    public async Task A_broker_restart_mid_batch_loses_nothing()
    {
        for (var i = 0; i < 30; i++) await p.UploadAsync($"r/{i:D2}.wav", TestAudio.ToneWav(1));
        await p.StartOrchestratorAsync();
        await p.StartWorkerAsync(new Dictionary<string, string?> { ["TestEngine:DelayMs"] = "1000", ["TestEngine:MaxBatchSize"] = "2" });
        var batchId = await p.SubmitAsync(new { source = $"s3://{p.Bucket}/r/", task = "asr" });
        var clock = Stopwatch.StartNew();
        while (await p.QuerySingleAsync<int>("SELECT count(*)::int FROM jobs WHERE batch_id = @batchId AND state = 'succeeded'", new { batchId }) < 2)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), "no progress before the restart");
            await Task.Delay(50);
        }

        await RestartRabbitMqAsync();
        var succeededAtRestart = await p.QuerySingleAsync<int>("SELECT count(*)::int FROM jobs WHERE batch_id = @batchId AND state = 'succeeded'", new { batchId });
        Assert.True(succeededAtRestart < 30, "the batch finished before the broker restart; the test proves nothing");

        await p.WaitForBatchAsync(batchId, TimeSpan.FromMinutes(3));
        await PipelineAssert.AllSucceededAsync(p, batchId, 30);
    }

    [Fact]
    public async Task S3_answering_500_to_a_quarter_of_requests_loses_nothing()
    {
        for (var i = 0; i < 20; i++) await p.UploadAsync($"f/{i:D2}.wav", TestAudio.ToneWav(1));
        await using var proxy = FaultyS3Proxy.Start(p.S3ServiceUrl, failureShare: 0.25);
        p.S3ServiceUrl = proxy.Url; // orchestrator (listing) and worker (download, upload) both go through it
        await p.StartOrchestratorAsync();
        await p.StartWorkerAsync();

        var batchId = await p.SubmitAsync(new { source = $"s3://{p.Bucket}/f/", task = "chat", outputType = "audio" });
        await p.WaitForBatchAsync(batchId, TimeSpan.FromMinutes(3));

        Assert.True(proxy.Faults >= 5, $"only {proxy.Faults} faults injected");
        await PipelineAssert.AllSucceededAsync(p, batchId, 20);
        Assert.Equal(20, await p.CountObjectsAsync("kimia-results/"));
    }

    [Fact]
    public async Task A_message_delivered_twice_gives_one_result_and_runs_the_job_once()
    {
        for (var i = 0; i < 10; i++) await p.UploadAsync($"d/{i}.wav", TestAudio.ToneWav(1));
        await p.StartOrchestratorAsync();
        var batchId = await p.SubmitAsync(new { source = $"s3://{p.Bucket}/d/", task = "asr", outputType = "both" });

        // a second copy of every message, queued before any worker runs
        var messages = await DueMessagesAsync(batchId);
        Assert.Equal(10, messages.Count);
        await PublishAsync(messages);
        Assert.Equal(20, await p.QueueDepthAsync("process-audio"));

        await p.StartWorkerAsync();
        await p.WaitForBatchAsync(batchId, TimeSpan.FromMinutes(2));
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (await p.QueueDepthAsync("process-audio") > 0 && DateTime.UtcNow < deadline) await Task.Delay(100);

        await PipelineAssert.AllSucceededAsync(p, batchId, 10);
        Assert.Equal(0, await p.QueueDepthAsync("process-audio"));
        Assert.Equal(10, await p.QuerySingleAsync<int>("SELECT count(*)::int FROM jobs WHERE batch_id = @batchId AND attempts = 1", new { batchId }));
        Assert.Equal(10, await p.CountObjectsAsync("kimia-results/"));

        // and a late duplicate of a finished job is acknowledged and skipped
        await PublishAsync(messages.Take(3).ToList());
        deadline = DateTime.UtcNow.AddSeconds(30);
        while (await p.QueueDepthAsync("process-audio") > 0 && DateTime.UtcNow < deadline) await Task.Delay(100);
        Assert.Equal(0, await p.QueueDepthAsync("process-audio"));
        await PipelineAssert.AllSucceededAsync(p, batchId, 10);
        Assert.Equal(10, await p.QuerySingleAsync<int>("SELECT count(*)::int FROM jobs WHERE batch_id = @batchId AND attempts = 1", new { batchId }));
    }

    [Fact]
    public async Task A_hung_worker_loses_its_lease_and_another_worker_finishes_the_job()
    {
        await p.UploadAsync("h/stuck.wav", TestAudio.ToneWav(1));
        for (var i = 0; i < 5; i++) await p.UploadAsync($"h/fine-{i}.wav", TestAudio.ToneWav(1));
        var lines = "key,prompt\nh/stuck.wav,hang\n" + string.Concat(Enumerable.Range(0, 5).Select(i => $"h/fine-{i}.wav,\n"));
        await p.UploadAsync("list.csv", System.Text.Encoding.UTF8.GetBytes(lines));
        await p.StartOrchestratorAsync();
        var hung = await p.StartWorkerAsync(new Dictionary<string, string?>
        {
            ["TestEngine:HangPrompt"] = "hang", ["TestEngine:MaxBatchSize"] = "1", ["Worker:StallSeconds"] = "2", ["Worker:LeaseSeconds"] = "3",
        });
        var batchId = await p.SubmitAsync(new { manifest = $"s3://{p.Bucket}/list.csv", task = "asr" });
        var stuck = await p.QuerySingleAsync<Guid>("SELECT job_id FROM jobs WHERE batch_id = @batchId AND input_key = 'h/stuck.wav'", new { batchId });
        var lifetime = hung.Services.GetRequiredService<Microsoft.Extensions.Hosting.IHostApplicationLifetime>();
        var clock = Stopwatch.StartNew();
        while (!lifetime.ApplicationStopping.IsCancellationRequested)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), "the stalled worker did not stop itself:\n" + await p.DescribeJobsAsync(batchId));
            await Task.Delay(50);
        }
        Assert.NotEqual("succeeded", await p.QuerySingleAsync<string>("SELECT state FROM jobs WHERE job_id = @stuck", new { stuck }));

        var stopping = p.StopWorkerAsync(hung); // what RunAsync does once the application is stopping
        await p.StartWorkerAsync(); // a healthy worker takes over what the hung one held
        await p.WaitForBatchAsync(batchId, TimeSpan.FromMinutes(2));
        await stopping;
        await PipelineAssert.AllSucceededAsync(p, batchId, 6);
    }

    [Fact]
    public async Task Transient_failures_are_redelivered_later_then_the_job_fails_and_its_message_goes_to_the_error_queue()
    {
        await p.UploadAsync("t/ok.wav", TestAudio.ToneWav(1));
        await p.UploadAsync("t/bad.wav", TestAudio.ToneWav(1.5));
        await p.UploadAsync("t.jsonl", System.Text.Encoding.UTF8.GetBytes("{\"key\":\"t/ok.wav\"}\n{\"key\":\"t/bad.wav\",\"prompt\":\"boom\"}\n"));
        var settings = new Dictionary<string, string?> { ["Orchestrator:MaxAttempts"] = "3" };
        await p.StartOrchestratorAsync(settings);
        await p.StartWorkerAsync(new Dictionary<string, string?>(settings) { ["TestEngine:FailPrompt"] = "boom" });

        var batchId = await p.SubmitAsync(new { manifest = $"s3://{p.Bucket}/t.jsonl", task = "asr" });
        await p.WaitForBatchAsync(batchId, TimeSpan.FromMinutes(1));

        await PipelineAssert.NothingLostNothingDuplicatedAsync(p, batchId, 2);
        var bad = await p.QuerySingleAsync<(string State, int Attempts, string Error)>(
            "SELECT state, attempts, error FROM jobs WHERE batch_id = @batchId AND input_key = 't/bad.wav'", new { batchId });
        Assert.Equal("failed", bad.State);
        Assert.Equal(3, bad.Attempts);
        Assert.Contains("simulated transient engine failure", bad.Error);
        Assert.Equal("succeeded", await p.QuerySingleAsync<string>("SELECT state FROM jobs WHERE batch_id = @batchId AND input_key = 't/ok.wav'", new { batchId }));
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (await p.QueueDepthAsync("process-audio_error") == 0 && DateTime.UtcNow < deadline) await Task.Delay(100);
        Assert.Equal(1, await p.QueueDepthAsync("process-audio_error"));
    }

    [Fact]
    public async Task A_batch_submitted_with_maxAttempts_2_fails_an_always_failing_job_after_exactly_2_worker_attempts()
    {
        await p.UploadAsync("m/ok.wav", TestAudio.ToneWav(1));
        await p.UploadAsync("m/bad.wav", TestAudio.ToneWav(1.5));
        await p.UploadAsync("m.jsonl", System.Text.Encoding.UTF8.GetBytes("{\"key\":\"m/ok.wav\"}\n{\"key\":\"m/bad.wav\",\"prompt\":\"boom\"}\n"));
        await p.StartOrchestratorAsync(); // Orchestrator:MaxAttempts stays 5: the request's value wins
        await p.StartWorkerAsync(new Dictionary<string, string?> { ["TestEngine:FailPrompt"] = "boom" });

        foreach (var bad in new[] { 0, 101 })
        {
            var refused = await p.PostBatchAsync(new { manifest = $"s3://{p.Bucket}/m.jsonl", task = "asr", maxAttempts = bad });
            Assert.Equal(System.Net.HttpStatusCode.BadRequest, refused.StatusCode);
            var errors = System.Text.Json.JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement.GetProperty("errors");
            Assert.Equal("maxAttempts", Assert.Single(errors.EnumerateObject()).Name);
        }
        Assert.Equal(0, await p.QuerySingleAsync<int>("SELECT count(*)::int FROM batches"));

        var batchId = await p.SubmitAsync(new { manifest = $"s3://{p.Bucket}/m.jsonl", task = "asr", maxAttempts = 2 });
        await p.WaitForBatchAsync(batchId, TimeSpan.FromMinutes(1));

        Assert.Equal(2, await p.QuerySingleAsync<short>("SELECT max_attempts FROM batches WHERE batch_id = @batchId", new { batchId }));
        var job = await p.QuerySingleAsync<(string State, int Attempts, string Error)>(
            "SELECT state, attempts, error FROM jobs WHERE batch_id = @batchId AND input_key = 'm/bad.wav'", new { batchId });
        Assert.Equal(("failed", 2), (job.State, job.Attempts));
        Assert.StartsWith("attempt 2: ", job.Error);
        Assert.Equal("succeeded", await p.QuerySingleAsync<string>("SELECT state FROM jobs WHERE batch_id = @batchId AND input_key = 'm/ok.wav'", new { batchId }));
    }

    [Fact]
    public async Task A_batch_submitted_with_maxAttempts_2_fails_a_job_whose_lease_expires_on_its_2nd_attempt()
    {
        await p.UploadAsync("l/a.wav", TestAudio.ToneWav(1));
        await p.StartOrchestratorAsync(); // no worker: the test plays a worker that takes the job and dies, twice
        var batchId = await p.SubmitAsync(new { source = $"s3://{p.Bucket}/l/", task = "asr", maxAttempts = 2 });
        var jobId = await p.QuerySingleAsync<Guid>("SELECT job_id FROM jobs WHERE batch_id = @batchId", new { batchId });
        const string takeAndDie = """
            UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = 'dead-worker', lease_expires_at = now() - interval '1 second',
                            started_at = now(), redeliver_at = NULL
             WHERE job_id = @jobId RETURNING attempts
            """;

        Assert.Equal(1, await p.QuerySingleAsync<int>(takeAndDie, new { jobId }));
        var first = await WaitWhileRunningAsync(jobId);
        Assert.Equal(("queued", 1), (first.State, first.Attempts)); // attempt 1 of 2: given back
        Assert.StartsWith("attempt 1: lease expired", first.Error);

        Assert.Equal(2, await p.QuerySingleAsync<int>(takeAndDie, new { jobId }));
        var second = await WaitWhileRunningAsync(jobId);
        Assert.Equal(("failed", 2), (second.State, second.Attempts)); // attempt 2 of 2: failed for good (the default would be 5)
        Assert.StartsWith("attempt 2: lease expired (worker dead-worker", second.Error);
        await p.WaitForBatchAsync(batchId, TimeSpan.FromSeconds(30));
    }

    /// <summary>Waits until the orchestrator's sweeper has dealt with the expired lease of a running job (and republished it, if it went back).</summary>
    private async Task<(string State, int Attempts, string Error)> WaitWhileRunningAsync(Guid jobId)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var row = await p.QuerySingleAsync<(string State, int Attempts, string? Error, bool Due)>(
                "SELECT state, attempts, error, redeliver_at IS NOT NULL FROM jobs WHERE job_id = @jobId", new { jobId });
            if (row.State != "running" && !row.Due) return (row.State, row.Attempts, row.Error ?? "");
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), "the sweeper did not handle the expired lease");
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task A_service_refuses_to_start_on_a_database_that_is_not_migrated()
    {
        var empty = new NpgsqlConnectionStringBuilder(p.ConnectionString) { Database = $"kimia_test_{p.Id}_empty" }.ConnectionString;
        await using (var admin = new NpgsqlConnection(ServiceSettings.PostgresConnection))
        {
            await admin.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE \"kimia_test_{p.Id}_empty\"", admin);
            await create.ExecuteNonQueryAsync();
        }
        try
        {
            await using var dataSource = NpgsqlDataSource.Create(empty);
            var guard = new SchemaGuard(dataSource, NullLogger<SchemaGuard>.Instance);
            var error = await Assert.ThrowsAsync<InvalidOperationException>(() => guard.StartAsync(CancellationToken.None));
            Assert.Contains("not migrated", error.Message);
            Assert.Contains("migrate", error.Message);
            Assert.Contains(SchemaGuard.LatestMigration, error.Message);

            var migrated = new SchemaGuard(NpgsqlDataSource.Create(p.ConnectionString), NullLogger<SchemaGuard>.Instance);
            await migrated.StartAsync(CancellationToken.None); // the test's own database is migrated: no exception
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            await using var admin = new NpgsqlConnection(ServiceSettings.PostgresConnection);
            await admin.OpenAsync();
            await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"kimia_test_{p.Id}_empty\" WITH (FORCE)", admin);
            await drop.ExecuteNonQueryAsync();
        }
    }

    private async Task<List<ProcessAudio>> DueMessagesAsync(Guid batchId)
    {
        var rows = await p.QueryAsync<(Guid JobId, string Key, string? ETag, long? Size, string Hash)>(
            "SELECT job_id, input_key, input_etag, input_size, options_hash FROM jobs WHERE batch_id = @batchId", new { batchId });
        return rows.Select(r => new ProcessAudio
        {
            JobId = r.JobId,
            BatchId = batchId,
            Input = new ObjectRef { Bucket = p.Bucket, Key = r.Key, ETag = r.ETag, Size = r.Size },
            Task = "asr",
            OutputType = "both",
            Sampling = new SamplingOptions(),
            OptionsHash = r.Hash,
        }).ToList();
    }

    /// <summary>Publishes through a bus of its own, configured like the orchestrator's.</summary>
    private async Task PublishAsync(IReadOnlyList<ProcessAudio> messages)
    {
        var services = new ServiceCollection()
            .AddSingleton<IConfiguration>(new ConfigurationBuilder()
                .AddInMemoryCollection(new Dictionary<string, string?> { ["RabbitMq:Uri"] = p.RabbitMqUri }).Build());
        ServiceDefaults.ServiceDefaultsExtensions.AddPipelineMessaging(services, _ => { });
        await using var provider = services.AddLogging().BuildServiceProvider();
        var bus = provider.GetRequiredService<IBusControl>();
        await bus.StartAsync(new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token);
        try
        {
            await Task.WhenAll(messages.Select(m => bus.Publish(m)));
        }
        finally
        {
            await bus.StopAsync();
        }
    }

    /// <summary>Restarts the shared broker with the services script, keeping its data (queues, vhosts, persistent messages).</summary>
    private static async Task RestartRabbitMqAsync()
    {
        var info = new ProcessStartInfo(ServiceSettings.ServicesScript) { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add("restart");
        info.ArgumentList.Add("rabbitmq");
        // the script must address the broker the tests use, wherever its ports were moved
        info.Environment["KIMIA_RABBITMQ_PORT"] = new Uri(ServiceSettings.RabbitMqUri).Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        info.Environment["KIMIA_RABBITMQ_MANAGEMENT_PORT"] = new Uri(ServiceSettings.RabbitMqManagementUri).Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        using var process = Process.Start(info)!;
        var output = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromMinutes(3)).Token);
        Assert.True(process.ExitCode == 0, $"restart rabbitmq failed: {await output}");
    }
}
