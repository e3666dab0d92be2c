using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Dapper;
using KimiAudio.Audio;
using KimiAudio.Contracts;
using KimiAudio.Infrastructure;
using KimiAudio.Infrastructure.Auth;
using KimiAudio.Infrastructure.Storage;
using KimiAudio.Migrator;
using KimiAudio.Orchestrator.Batches;
using KimiAudio.ServiceDefaults;
using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace KimiAudio.Chaos;

/// <summary>
/// The soak: a private vhost, database and bucket on the local services; the files; 3 worker processes (deterministic
/// engine) and one orchestrator process; an S3 proxy that fails a share of requests; then, on a schedule drawn from the
/// seed and keyed to the batch's progress, SIGKILLs of workers (restarted after), a RabbitMQ restart, a PostgreSQL fast
/// restart, duplicated deliveries, and a SIGKILL of the orchestrator in the middle of a submission. When every job is
/// terminal (or the drain timeout passed) the history is checked by <see cref="HistoryCheck"/>.
/// </summary>
public sealed class ChaosSoak(ChaosProfile profile, ChaosServices services, TextWriter log)
{
    private const string Terminal = "('succeeded', 'failed', 'cancelled', 'skipped')";
    private readonly string runId = $"{profile.Seed}x{Guid.NewGuid().ToString("N")[..6]}";
    private NpgsqlDataSource db = null!;
    private int duplicatesPublished;
    private int rabbitRestarts;
    private int postgresRestarts;
    private int orchestratorKills;
    private DateTime lastFaultAt;
    private DateTime drainedAt;

    public async Task<ChaosReport> RunAsync(CancellationToken ct)
    {
        DefaultTypeMap.MatchNamesWithUnderscores = true;
        var vhost = $"kimia-chaos-{runId}";
        var database = $"kimia_chaos_{runId}";
        var bucket = $"kimia-chaos-{runId}";
        var workDir = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), $"kimia-chaos-{runId}")).FullName;
        var rabbitUri = new UriBuilder(services.RabbitMqUri) { Path = "/" + vhost }.Uri.ToString();
        var connection = new NpgsqlConnectionStringBuilder(services.PostgresConnection) { Database = database }.ConnectionString;
        log.WriteLine($"chaos run {runId}: seed {profile.Seed}, {profile.Files} files ({profile.ChatFiles} chat), logs in {workDir}");

        using var management = new HttpClient { BaseAddress = new Uri(services.RabbitMqManagementUri) };
        management.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic",
            Convert.ToBase64String(Encoding.UTF8.GetBytes($"{services.RabbitMqUser}:{services.RabbitMqPassword}")));
        (await management.PutAsync($"api/vhosts/{vhost}", null, ct)).EnsureSuccessStatusCode();
        (await management.PutAsync($"api/permissions/{vhost}/{services.RabbitMqUser}", JsonContent.Create(new { configure = ".*", write = ".*", read = ".*" }), ct)).EnsureSuccessStatusCode();
        var migration = new StringWriter();
        if (!DatabaseMigrator.Migrate(connection, migration).Successful) throw new InvalidOperationException("migration failed: " + migration);
        db = NpgsqlDataSource.Create(connection);
        var processes = new List<ManagedProcess>();
        try
        {
            await using var storage = new ServiceCollection()
                .AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(S3Settings(services.S3ServiceUrl)).Build())
                .AddPipelineResilience().AddObjectStore().BuildServiceProvider();
            var store = storage.GetRequiredService<IObjectStore>();
            await store.EnsureBucketAsync(bucket, ct);
            var keys = await UploadAsync(store, bucket, ct);
            var apiKey = (await new ApiKeyStore(db).CreateAsync("chaos", ct)).Key;

            await using var proxy = new FaultingS3Proxy(services.S3ServiceUrl, profile.S3FaultRate, profile.Seed, TimeSpan.FromSeconds(3));
            var callLog = Path.Combine(workDir, "engine-calls.log");
            var common = new Dictionary<string, string?>(S3Settings(proxy.Url))
            {
                ["RabbitMq:Uri"] = rabbitUri,
                ["Database:ConnectionString"] = connection,
                ["S3:RequestTimeoutSeconds"] = "2",
                ["Logging:LogLevel:Default"] = "Warning",
            };
            var workerArgs = Args(common, new()
            {
                ["Worker:LeaseSeconds"] = "6", ["Worker:RedeliveryBaseDelaySeconds"] = "0.5",
                ["Worker:HttpPort"] = "0", ["Worker:SegmentSeconds"] = "5", ["Segmentation:Mode"] = "Fixed", // 5 s spans: several checkpoints per long file
                ["Engine:Kind"] = "deterministic", ["TestEngine:MaxBatchSize"] = "4",
                ["TestEngine:DelayMs"] = profile.EngineDelayMs.ToString(CultureInfo.InvariantCulture),
                ["TestEngine:CallLogTimestamps"] = "true",
            });
            var port = FreePort();
            var orchestratorArgs = Args(common, new()
            {
                ["urls"] = $"http://127.0.0.1:{port}", ["Sweeper:IntervalSeconds"] = "0.5",
                ["Orchestrator:PageSize"] = profile.PageSize.ToString(CultureInfo.InvariantCulture),
                ["Orchestrator:SubmitLeaseSeconds"] = "3", ["Orchestrator:ResumeIntervalSeconds"] = "0.5", ["Orchestrator:PublishGraceSeconds"] = "10",
            });
            var dir = AppContext.BaseDirectory;
            // one engine call log per worker: three processes appending to one file interleave their lines
            var workers = Enumerable.Range(0, profile.Workers)
                .Select(i => new ManagedProcess($"worker-{i}", Path.Combine(dir, "KimiAudio.Worker.TestHost.dll"),
                    [.. workerArgs, $"--TestEngine:CallLog={callLog}.{i}"], Path.Combine(workDir, $"worker-{i}.log")))
                .ToList();
            var orchestrator = new ManagedProcess("orchestrator", Path.Combine(dir, "KimiAudio.Orchestrator.dll"), orchestratorArgs, Path.Combine(workDir, "orchestrator.log"));
            processes.AddRange(workers);
            processes.Add(orchestrator);
            foreach (var p in processes) p.Start();
            using var stopSupervisor = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var supervisor = SuperviseAsync(processes, stopSupervisor.Token);

            using var api = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromMinutes(10) };
            api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
            await WaitReadyAsync(api, ct);

            var rng = new Random(profile.Seed);
            var schedule = FaultSchedule.Draw(rng, profile);
            var killFraction = 0.2 + 0.4 * rng.NextDouble();
            log.WriteLine($"schedule: orchestrator SIGKILL at {killFraction:P0} of the main submission; {string.Join(", ", schedule.Select(e => e.ToString()))}");
            var clock = Stopwatch.StartNew();

            // the faults run from the start, keyed to progress; the submissions (one killed half way) run meanwhile
            var (bus, busServices) = await StartBusAsync(rabbitUri, ct);
            bool drained, killedMidSubmission;
            try
            {
                var driver = DriveFaultsUntilDrainedAsync(schedule, workers, bus, rng, ct);
                var chatSource = $"s3://{bucket}/chat/";
                var mainSource = $"s3://{bucket}/in/";
                await SubmitAsync(api, new { source = chatSource, task = "chat", outputType = "both" }, chatSource, ct);
                var killAt = (int)((profile.Files - profile.ChatFiles) * killFraction);
                killedMidSubmission = await SubmitAndKillAsync(api, orchestrator, new { source = mainSource, task = "asr" }, mainSource, killAt, ct);
                drained = await driver;
            }
            finally
            {
                await bus.StopAsync(CancellationToken.None);
                await busServices.DisposeAsync();
            }
            var drainTime = drained ? clock.Elapsed - (DateTime.UtcNow - drainedAt) : clock.Elapsed;
            var afterLastFault = (drained ? drainedAt : DateTime.UtcNow) - lastFaultAt;

            await stopSupervisor.CancelAsync();
            await supervisor;
            foreach (var p in processes) p.Stop();

            var report = await new HistoryCheck(db, store, bucket, keys, Enumerable.Range(0, profile.Workers).Select(i => $"{callLog}.{i}").ToList()).RunAsync(ct);
            report.Add("drained", drained ? "yes" : $"NO (timeout {profile.DrainTimeout})");
            report.Require(drained, "the batches did not drain before the timeout");
            report.Add("time to drain (first submit → every job terminal)", $"{drainTime.TotalSeconds:F1} s");
            report.Add("time to drain after the last fault was injected", $"{afterLastFault.TotalSeconds:F1} s");
            AddFaults(report, schedule, workers, orchestrator, proxy, killedMidSubmission);
            return report;
        }
        finally
        {
            foreach (var p in processes) p.Stop();
            await db.DisposeAsync();
            try { await management.DeleteAsync($"api/vhosts/{vhost}", CancellationToken.None); } catch (HttpRequestException) { }
            NpgsqlConnection.ClearAllPools();
            try
            {
                await using var admin = new NpgsqlConnection(services.PostgresConnection);
                await admin.ExecuteAsync($"DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)");
            }
            catch (NpgsqlException ex) { log.WriteLine($"could not drop {database}: {ex.Message}"); }
        }
    }

    private void AddFaults(ChaosReport report, IReadOnlyList<FaultEvent> schedule, List<ManagedProcess> workers, ManagedProcess orchestrator, FaultingS3Proxy proxy, bool killedMidSubmission)
    {
        var plannedKills = schedule.Count(e => e.Kind == FaultKind.WorkerKill);
        var kills = workers.Sum(w => w.Kills);
        report.Add("fault: worker SIGKILLs (planned/injected)", $"{plannedKills}/{kills}");
        report.Add("fault: worker restarts", workers.Sum(w => w.Starts) - workers.Count);
        report.Add("fault: RabbitMQ restarts (planned/done)", $"{profile.RabbitMqRestarts}/{rabbitRestarts}");
        report.Add("fault: PostgreSQL fast restarts (planned/done)", $"{profile.PostgresRestarts}/{postgresRestarts}");
        report.Add("fault: orchestrator SIGKILL mid-submission", $"{orchestratorKills} ({(killedMidSubmission ? "mid-submission" : "MISSED: submission had finished")})");
        report.Add("fault: S3 500 InternalError", proxy.Errors);
        report.Add("fault: S3 timeouts (applied, answer held past the client timeout)", proxy.Timeouts);
        report.Add("S3 requests forwarded unharmed", proxy.Forwarded);
        report.Add("fault: duplicated deliveries", duplicatesPublished);
        report.Add("unplanned process exits (restarted)", workers.Sum(w => w.UnplannedExits) + orchestrator.UnplannedExits);
        report.Require(kills >= plannedKills, $"only {kills} of {plannedKills} worker kills happened");
        report.Require(rabbitRestarts == profile.RabbitMqRestarts, "the RabbitMQ restart did not happen");
        report.Require(postgresRestarts == profile.PostgresRestarts, "the PostgreSQL restart did not happen");
        report.Require(killedMidSubmission, "the orchestrator was not killed mid-submission");
        report.Require(proxy.Errors > 0 && proxy.Timeouts > 0, "no S3 faults were injected");
        report.Require(duplicatesPublished > 0, "no duplicate deliveries were published");
    }

    private Dictionary<string, string?> S3Settings(string url) => new()
    {
        ["S3:ServiceUrl"] = url,
        ["S3:AccessKey"] = services.S3AccessKey,
        ["S3:SecretKey"] = services.S3SecretKey,
        ["S3:Emulator"] = services.S3Emulator ? "true" : "false",
        ["Resilience:S3MaxRetries"] = "8",
        ["Resilience:S3BaseDelayMs"] = "50",
    };

    private static string[] Args(Dictionary<string, string?> common, Dictionary<string, string?> extra)
        => common.Concat(extra).Where(p => p.Value is not null).Select(p => $"--{p.Key}={p.Value}").ToArray();

    private static int FreePort()
    {
        using var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        probe.Start();
        return ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
    }

    /// <summary>Every file different (identical content would be skipped as already annotated); a share long enough for several segments.</summary>
    private async Task<HashSet<string>> UploadAsync(IObjectStore store, string bucket, CancellationToken ct)
    {
        var rng = new Random(profile.Seed * 7919 + 1);
        var files = Enumerable.Range(0, profile.Files).Select(i =>
        {
            var seconds = rng.NextDouble() < profile.LongShare ? 11 + 6 * rng.NextDouble() : 0.5 + 2 * rng.NextDouble();
            return (Key: $"{(i < profile.ChatFiles ? "chat" : "in")}/f-{i:D5}.wav", Seconds: seconds, Index: i);
        }).ToList();
        await Parallel.ForEachAsync(files, new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = ct }, async (f, token) =>
        {
            const int rate = 8000;
            var samples = new float[(int)(f.Seconds * rate)];
            var frequency = 180 + f.Index % 700;
            for (var s = 0; s < samples.Length; s++) samples[s] = 0.3f * MathF.Sin(2 * MathF.PI * frequency * s / rate);
            samples[0] = (f.Index % 30000) / 32768f;
            await store.PutAsync(bucket, f.Key, WavWriter.Pcm16Mono(samples, rate), "audio/wav", token);
        });
        log.WriteLine($"uploaded {files.Count} files ({files.Count(f => f.Seconds > 10)} long)");
        return files.Select(f => f.Key).ToHashSet();
    }

    private static async Task SuperviseAsync(List<ManagedProcess> processes, CancellationToken ct)
    {
        try
        {
            while (!ct.IsCancellationRequested)
            {
                foreach (var p in processes) p.Tick();
                await Task.Delay(200, ct);
            }
        }
        catch (OperationCanceledException) { }
    }

    private static async Task WaitReadyAsync(HttpClient api, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                if ((await api.GetAsync("/health/ready", ct)).IsSuccessStatusCode) return;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) when (!ct.IsCancellationRequested) { }
            if (clock.Elapsed > TimeSpan.FromMinutes(5)) throw new TimeoutException("the orchestrator did not become ready in 5 minutes");
            await Task.Delay(250, ct);
        }
    }

    /// <summary>POST /batches; when the answer is lost but the batch exists it counts (a resubmit would make a second batch).</summary>
    private async Task SubmitAsync(HttpClient api, object request, string source, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var response = await api.PostAsJsonAsync("/batches", request, ct);
                if (response.IsSuccessStatusCode) return;
                log.WriteLine($"POST /batches {source}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(ct)}");
            }
            catch (HttpRequestException ex) { log.WriteLine($"POST /batches {source}: {ex.Message}"); }
            if (await BatchOfAsync(source, ct) is not null) return;
            if (attempt == 5) throw new InvalidOperationException($"could not submit {source}");
            await WaitReadyAsync(api, ct);
        }
    }

    private Task<Guid?> BatchOfAsync(string source, CancellationToken ct)
        => DbAsync(c => c.QuerySingleOrDefaultAsync<Guid?>(new CommandDefinition("SELECT batch_id FROM batches WHERE source = @source", new { source }, cancellationToken: ct)), ct);

    /// <summary>Submits and SIGKILLs the orchestrator once <paramref name="killAt"/> job rows are written; restarted 1 s later. True if it was mid-submission.</summary>
    private async Task<bool> SubmitAndKillAsync(HttpClient api, ManagedProcess orchestrator, object request, string source, int killAt, CancellationToken ct)
    {
        var post = api.PostAsJsonAsync("/batches", request, ct);
        while (!post.IsCompleted)
        {
            var seq = await DbAsync(c => c.QuerySingleOrDefaultAsync<int?>(new CommandDefinition(
                "SELECT submit_seq FROM batches WHERE source = @source AND state = 'submitting'", new { source }, cancellationToken: ct)), ct);
            if (seq >= killAt)
            {
                orchestrator.Kill(TimeSpan.FromSeconds(1));
                orchestratorKills++;
                lastFaultAt = DateTime.UtcNow;
                log.WriteLine($"SIGKILL orchestrator mid-submission at {seq} job rows");
                try { await post; } catch (Exception) { /* the answer dies with the process */ }
                await Task.Delay(1500, ct);
                await WaitReadyAsync(api, ct);
                return true;
            }
            await Task.Delay(15, ct);
        }
        (await post).EnsureSuccessStatusCode();
        return false;
    }

    private static async Task<(IBusControl, ServiceProvider)> StartBusAsync(string rabbitUri, CancellationToken ct)
    {
        var services = new ServiceCollection()
            .AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["RabbitMq:Uri"] = rabbitUri }).Build());
        services.AddPipelineMessaging(_ => { });
        var provider = services.AddLogging().BuildServiceProvider();
        var bus = provider.GetRequiredService<IBusControl>();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        await bus.StartAsync(timeout.Token);
        return (bus, provider);
    }

    /// <summary>Fires the scheduled faults as the terminal share of jobs passes their thresholds; publishes duplicates every 2 s.</summary>
    private async Task<bool> DriveFaultsUntilDrainedAsync(IReadOnlyList<FaultEvent> schedule, List<ManagedProcess> workers, IBusControl bus, Random rng, CancellationToken ct)
    {
        var next = 0;
        var restarts = new List<Task>();
        var deadline = DateTime.UtcNow + profile.DrainTimeout;
        var lastDuplicates = DateTime.MinValue;
        var lastLog = DateTime.MinValue;
        while (DateTime.UtcNow < deadline)
        {
            var (terminal, open, unfinishedBatches) = await DbAsync(c => c.QuerySingleAsync<(int, int, int)>(new CommandDefinition($"""
                SELECT (SELECT count(*) FROM jobs WHERE state IN {Terminal})::int, (SELECT count(*) FROM jobs WHERE state NOT IN {Terminal})::int,
                       (SELECT count(*) FROM batches WHERE completed_at IS NULL)::int
                """, cancellationToken: ct)), ct);
            var progress = (double)terminal / profile.Files;
            if (DateTime.UtcNow - lastLog > TimeSpan.FromSeconds(10))
            {
                log.WriteLine($"[{DateTime.UtcNow:HH:mm:ss}] {terminal} terminal, {open} open, {unfinishedBatches} batch(es) unfinished; faults fired {next}/{schedule.Count}");
                lastLog = DateTime.UtcNow;
            }
            while (next < schedule.Count && progress >= schedule[next].AtProgress)
            {
                var e = schedule[next];
                if (e.Kind == FaultKind.WorkerKill)
                {
                    // the drawn worker, or the next one up if it is still down from an earlier kill; none up: wait a tick
                    var up = Enumerable.Range(0, workers.Count).Select(k => (e.Worker + k) % workers.Count).Where(k => workers[k].IsRunning).ToList();
                    if (up.Count == 0) break;
                    e = e with { Worker = up[0] };
                }
                next++;
                lastFaultAt = DateTime.UtcNow;
                log.WriteLine($"[{DateTime.UtcNow:HH:mm:ss}] {e} (progress {progress:P0})");
                switch (e.Kind)
                {
                    case FaultKind.WorkerKill: workers[e.Worker].Kill(e.RestartAfter); break;
                    case FaultKind.RabbitMqRestart: restarts.Add(RestartAsync("rabbitmq", () => rabbitRestarts++, ct)); break;
                    case FaultKind.PostgresRestart: restarts.Add(RestartAsync("postgres", () => postgresRestarts++, ct)); break;
                }
            }
            if (progress < 1 && DateTime.UtcNow - lastDuplicates > TimeSpan.FromSeconds(2))
            {
                lastDuplicates = DateTime.UtcNow;
                await PublishDuplicatesAsync(bus, rng, ct);
            }
            if (next == schedule.Count && open == 0 && unfinishedBatches == 0 && terminal >= profile.Files)
            {
                drainedAt = DateTime.UtcNow;
                await Task.WhenAll(restarts); // a restart still under way (RabbitMQ takes minutes on a loaded box) ends before the checks
                return true;
            }
            await Task.Delay(200, ct);
        }
        return false;
    }

    private async Task RestartAsync(string service, Action done, CancellationToken ct)
    {
        try
        {
            await services.RunScriptAsync(ct, "restart", service);
            done();
            log.WriteLine($"[{DateTime.UtcNow:HH:mm:ss}] {service} is back");
        }
        catch (Exception ex) when (!ct.IsCancellationRequested)
        {
            log.WriteLine($"restart of {service} failed: {ex.Message}");
        }
    }

    /// <summary>Publishes a second copy of the message of a few random jobs (any state), as a broker redelivery would.</summary>
    private async Task PublishDuplicatesAsync(IBusControl bus, Random rng, CancellationToken ct)
    {
        const string sql = """
            SELECT j.job_id, j.batch_id, j.input_bucket, j.input_key, j.input_etag, j.input_size, j.prompt, j.options_hash,
                   b.task, b.question, b.output_type, b.sampling::text AS sampling_json
              FROM jobs j JOIN batches b ON b.batch_id = j.batch_id
             ORDER BY j.job_id OFFSET @offset LIMIT @limit
            """;
        try
        {
            var count = await DbAsync(c => c.ExecuteScalarAsync<int>(new CommandDefinition("SELECT count(*)::int FROM jobs", cancellationToken: ct)), ct);
            if (count == 0) return;
            for (var i = 0; i < profile.DuplicatesPerRound; i++)
            {
                var offset = rng.Next(count);
                var job = await DbAsync(c => c.QuerySingleAsync<StoredJob>(new CommandDefinition(sql, new { offset, limit = 1 }, cancellationToken: ct)), ct);
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                timeout.CancelAfter(TimeSpan.FromSeconds(5));
                await bus.Publish(job.ToMessage(), c => c.MessageId = job.JobId, timeout.Token);
                duplicatesPublished++;
            }
        }
        catch (Exception ex) when (!ct.IsCancellationRequested)
        {
            log.WriteLine($"duplicate publish failed (broker restarting?): {ex.GetType().Name}");
        }
    }

    /// <summary>The harness's own SQL, retried through a database restart.</summary>
    private async Task<T> DbAsync<T>(Func<NpgsqlConnection, Task<T>> query, CancellationToken ct)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await using var c = await db.OpenConnectionAsync(ct);
                return await query(c);
            }
            catch (Exception ex) when (ex is NpgsqlException or IOException or TimeoutException && attempt < 240)
            {
                db.Clear();
                await Task.Delay(500, ct);
            }
        }
    }

    /// <summary>A job and its batch's fields, to build the job's message as the orchestrator would.</summary>
    private sealed record StoredJob
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

        public ProcessAudio ToMessage() => ProcessAudioFactory.Create(BatchId, JobId, new SourceItem(InputBucket, InputKey, InputEtag, InputSize, Prompt),
            OptionsHash, Task, Question, OutputType, JsonSerializer.Deserialize<SamplingOptions>(SamplingJson) ?? new SamplingOptions());
    }
}
