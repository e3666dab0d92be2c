using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using KimiAudio.Pipeline.Tests.Support;
using KimiAudio.Worker.TestHost;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;

namespace KimiAudio.Pipeline.Tests;

/// <summary>Traces, metrics, health and log scopes of orchestrator and worker, on the real services.</summary>
public sealed class ObservabilityTests : IAsyncLifetime
{
    private TestPipeline p = null!;

    public async Task InitializeAsync() => p = await TestPipeline.CreateAsync();

    public async Task DisposeAsync() => await p.DisposeAsync();

    [Fact]
    public async Task A_batch_is_one_trace_from_the_http_request_to_storage_and_its_metrics_logs_and_health_show_it()
    {
        await p.UploadAsync("obs/a.wav", TestAudio.ToneWav(1.5));
        await p.UploadAsync("obs/b.wav", TestAudio.ToneWav(2));
        await p.UploadAsync("obs/corrupt.wav", TestAudio.Garbage());
        var orchestratorSink = TelemetryCapture.Create();
        var workerSink = TelemetryCapture.Create();
        await p.StartOrchestratorAsync(new Dictionary<string, string?>(orchestratorSink.Arguments())
        {
            ["JobGauges:RefreshSeconds"] = "0.2",
            ["Logging:Console:FormatterName"] = "json",
        });
        var worker = await p.StartWorkerAsync(workerSink.Arguments());
        using var anonymous = new HttpClient();
        var workerUrl = ListenAddress(worker);

        // (c) health of the worker: live, and ready with database, broker and model
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync($"{workerUrl}/health/live")).StatusCode);
        var ready = await anonymous.GetAsync($"{workerUrl}/health/ready");
        Assert.True(ready.StatusCode == HttpStatusCode.OK, $"/health/ready answered {(int)ready.StatusCode}: {await ready.Content.ReadAsStringAsync()}");
        var checks = worker.Services.GetRequiredService<IOptions<HealthCheckServiceOptions>>().Value.Registrations.Select(r => r.Name).ToList();
        Assert.Contains("database", checks);
        Assert.Contains("model", checks);
        Assert.Contains(checks, c => c.Contains("masstransit", StringComparison.OrdinalIgnoreCase)); // the bus's own check

        var batchId = await p.SubmitAsync(new { source = $"s3://{p.Bucket}/obs/", task = "asr", outputType = "both" });
        var batch = await p.WaitForBatchAsync(batchId, TimeSpan.FromSeconds(40));
        Assert.Equal(2, batch.GetProperty("counts").GetProperty("succeeded").GetInt32());
        Assert.Equal(1, batch.GetProperty("counts").GetProperty("failed").GetInt32());
        var corruptJob = await p.QuerySingleAsync<Guid>("SELECT job_id FROM jobs WHERE input_key = 'obs/corrupt.wav'");

        // (a) one trace: the orchestrator's HTTP span, the publishes, the worker's consume and job spans, S3 and SQL calls
        var spans = await WaitForAsync(() =>
        {
            var all = orchestratorSink.SpansSnapshot().Concat(workerSink.SpansSnapshot()).DistinctBy(s => s.SpanId).ToList();
            return all.Count(s => s.Source.Name == "KimiAudio.Worker" && s.DisplayName == "job") >= 3 ? all : null;
        }, "three job spans");
        var http = spans.Where(s => s.Source.Name == "Microsoft.AspNetCore" && s.Kind == ActivityKind.Server && s.DisplayName.StartsWith("POST /batches")).ToList();
        Assert.True(http.Count == 1, "orchestrator HTTP spans: " + Describe(spans.Where(s => s.Kind == ActivityKind.Server)));
        Assert.Contains(http[0], orchestratorSink.SpansSnapshot()); // recorded by the orchestrator's own tracer provider
        var trace = http[0].TraceId;
        var inTrace = spans.Where(s => s.TraceId == trace).ToList();
        var byId = inTrace.ToDictionary(s => s.SpanId);
        List<Activity> Named(string source, string name) => inTrace.Where(s => s.Source.Name == source && s.DisplayName == name).ToList();

        var publishes = inTrace.Where(s => s.Source.Name == "MassTransit" && s.Kind == ActivityKind.Producer).ToList();
        Assert.True(publishes.Count >= 3, "publish spans in the trace: " + Describe(inTrace));
        var consumes = inTrace.Where(s => s.Source.Name == "MassTransit" && s.Kind == ActivityKind.Consumer).ToList();
        Assert.True(consumes.Count >= 1, "consume spans in the trace: " + Describe(inTrace));
        var jobs = Named("KimiAudio.Worker", "job");
        Assert.Equal(3, jobs.Count);
        Assert.All(jobs, j => Assert.True(byId.TryGetValue(j.ParentSpanId, out var parent) && parent.Source.Name == "MassTransit",
            $"job span's parent is not a MassTransit span: {Describe(inTrace)}"));
        var jobIds = jobs.Select(j => j.SpanId).ToHashSet();
        Assert.Equal(3, Named("KimiAudio.Worker", "fetch").Count(s => jobIds.Contains(s.ParentSpanId)));
        Assert.Equal(3, Named("KimiAudio.Worker", "decode").Count(s => jobIds.Contains(s.ParentSpanId)));
        Assert.Contains(Named("KimiAudio.Worker", "infer"), s => jobIds.Contains(s.ParentSpanId));
        var stores = Named("KimiAudio.Worker", "store");
        Assert.Equal(2, stores.Count(s => jobIds.Contains(s.ParentSpanId)));
        var failedJob = jobs.Single(j => Equals(j.GetTagItem("kimiaudio.job_id"), corruptJob));
        Assert.Equal(ActivityStatusCode.Error, failedJob.Status);
        Assert.Equal("decode", failedJob.GetTagItem("error.type"));
        // the S3 SDK's HTTP requests (GET under fetch, PUT of the speech WAV under store) and Npgsql's commands
        var fetchIds = Named("KimiAudio.Worker", "fetch").Select(s => s.SpanId).ToHashSet();
        var storeIds = stores.Select(s => s.SpanId).ToHashSet();
        var s3 = inTrace.Where(s => s.Source.Name == "System.Net.Http" && s.Kind == ActivityKind.Client).ToList();
        Assert.True(s3.Count(s => fetchIds.Contains(s.ParentSpanId)) >= 3, "HTTP client spans: " + Describe(s3));
        Assert.True(s3.Count(s => storeIds.Contains(s.ParentSpanId)) >= 2, "HTTP client spans: " + Describe(s3));
        Assert.Contains(inTrace, s => s.Source.Name == "Npgsql" && jobIds.Contains(s.ParentSpanId));

        // (b) Prometheus text on both services
        var samples = new[] { 24000, 32000 };
        var orchestratorMetrics = await WaitForAsync(async () =>
        {
            var text = new PrometheusText(await anonymous.GetStringAsync($"{p.Api.BaseAddress}metrics"));
            return text.Value("kimiaudio_jobs", ("state", "succeeded")) == 2 ? text : null;
        }, "kimiaudio_jobs{state=\"succeeded\"} == 2");
        Assert.Equal(1, orchestratorMetrics.Value("kimiaudio_jobs", ("state", "failed")));
        Assert.Equal(0, orchestratorMetrics.Value("kimiaudio_jobs", ("state", "queued")));
        Assert.Equal(0, orchestratorMetrics.Value("kimiaudio_queue_messages", ("queue", "process-audio")));
        Assert.NotNull(orchestratorMetrics.Value("http_server_request_duration_seconds_count"));

        var workerMetrics = new PrometheusText(await anonymous.GetStringAsync($"{workerUrl}/metrics"));
        Assert.Equal(samples.Sum() / 16000.0, workerMetrics.Value("kimiaudio_worker_audio_processed_seconds_total")!.Value, 6);
        Assert.Equal(samples.Sum(n => DeterministicEngine.ExpectedText("asr", 0, n).Length),
            workerMetrics.Value("kimiaudio_worker_tokens_generated_total", ("kind", "text")));
        Assert.Equal(samples.Sum(DeterministicEngine.AudioTokenCount), workerMetrics.Value("kimiaudio_worker_tokens_generated_total", ("kind", "audio")));
        Assert.Equal(1, workerMetrics.Value("kimiaudio_worker_job_failures_total", ("reason", "decode")));
        Assert.Equal(1, workerMetrics.Value("kimiaudio_worker_job_failures_total"));
        Assert.Equal(2, workerMetrics.Value("kimiaudio_worker_job_duration_seconds_count", ("outcome", "succeeded")));
        Assert.Equal(1, workerMetrics.Value("kimiaudio_worker_job_duration_seconds_count", ("outcome", "failed")));
        Assert.Null(workerMetrics.Value("kimiaudio_worker_retries_total", ("kind", "redelivery"))); // every job on its first attempt
        Assert.Null(workerMetrics.Value("kimiaudio_worker_gpu_memory_used_bytes")); // CPU engine: no GPU gauge

        // (d) log scopes: the worker's failure log carries batch, job, attempt and the trace; the orchestrator's carries the batch
        var failure = workerSink.Logs.Records.Single(r => r.Message.Contains("failed permanently"));
        Assert.Equal(corruptJob, failure.Scope["JobId"]);
        Assert.Equal(batchId, failure.Scope["BatchId"]);
        Assert.Equal(1, failure.Scope["Attempt"]);
        Assert.Equal(trace.ToString(), failure.Scope["TraceId"]?.ToString());
        Assert.Contains(orchestratorSink.Logs.Records, r => r.Message.StartsWith($"Batch {batchId}:") && Equals(r.Scope["BatchId"], batchId));
        // JSON console lines when configured (with scopes), the compact single-line format otherwise
        Assert.Equal("json", p.Orchestrators[0].Services.GetRequiredService<IOptionsMonitor<ConsoleLoggerOptions>>().CurrentValue.FormatterName);
        Assert.True(p.Orchestrators[0].Services.GetRequiredService<IOptionsMonitor<JsonConsoleFormatterOptions>>().CurrentValue.IncludeScopes);
        Assert.Equal("simple", worker.Services.GetRequiredService<IOptionsMonitor<ConsoleLoggerOptions>>().CurrentValue.FormatterName);
    }

    [Fact]
    public async Task Retries_are_counted_by_kind_and_transient_failures_by_reason()
    {
        for (var i = 0; i < 20; i++) await p.UploadAsync($"r/{i:D2}.wav", TestAudio.ToneWav(1));
        await p.UploadAsync("r/bad.wav", TestAudio.ToneWav(1.5));
        var manifest = string.Join("\n", Enumerable.Range(0, 20).Select(i => $"{{\"key\":\"r/{i:D2}.wav\"}}").Append("{\"key\":\"r/bad.wav\",\"prompt\":\"boom\"}"));
        await p.UploadAsync("r.jsonl", System.Text.Encoding.UTF8.GetBytes(manifest));
        await using var proxy = FaultyS3Proxy.Start(p.S3ServiceUrl, failureShare: 0.3); // the worker's S3 calls only
        var settings = new Dictionary<string, string?> { ["Orchestrator:MaxAttempts"] = "3" };
        await p.StartOrchestratorAsync(settings);
        var worker = await p.StartWorkerAsync(new Dictionary<string, string?>(settings) { ["TestEngine:FailPrompt"] = "boom", ["S3:ServiceUrl"] = proxy.Url });

        var batchId = await p.SubmitAsync(new { manifest = $"s3://{p.Bucket}/r.jsonl", task = "asr" });
        await p.WaitForBatchAsync(batchId, TimeSpan.FromSeconds(40));
        var redeliveries = await p.QuerySingleAsync<long>("SELECT sum(attempts - 1) FROM jobs WHERE batch_id = @batchId", new { batchId });
        var badAttempts = await p.QuerySingleAsync<int>("SELECT attempts FROM jobs WHERE batch_id = @batchId AND input_key = 'r/bad.wav'", new { batchId });

        using var anonymous = new HttpClient();
        var metrics = new PrometheusText(await anonymous.GetStringAsync($"{ListenAddress(worker)}/metrics"));
        Assert.Equal(3, badAttempts);
        Assert.True(proxy.Faults >= 1, "no S3 fault injected");
        Assert.Equal(proxy.Faults, metrics.Value("kimiaudio_worker_retries_total", ("kind", "s3"))); // every 500 was retried once by Polly
        Assert.Equal(redeliveries, metrics.Value("kimiaudio_worker_retries_total", ("kind", "redelivery")));
        Assert.Equal(badAttempts, metrics.Value("kimiaudio_worker_job_failures_total", ("reason", "engine")));
        Assert.Equal(badAttempts - 1, metrics.Value("kimiaudio_worker_job_duration_seconds_count", ("outcome", "retry")));
        Assert.Equal(1, metrics.Value("kimiaudio_worker_job_duration_seconds_count", ("outcome", "failed")));
        Assert.Equal(20, metrics.Value("kimiaudio_worker_job_duration_seconds_count", ("outcome", "succeeded")));
    }

    [Fact]
    public async Task With_an_otlp_endpoint_set_the_spans_are_exported_to_it()
    {
        // a stand-in collector: records the OTLP/HTTP requests it receives
        var received = new System.Collections.Concurrent.ConcurrentQueue<(string Path, string? ContentType, byte[] Body)>();
        await using var collector = WebApplication.CreateSlimBuilder(["--urls=http://127.0.0.1:0"]).Build();
        collector.MapPost("/v1/traces", async (Microsoft.AspNetCore.Http.HttpRequest request) =>
        {
            using var body = new MemoryStream();
            await request.Body.CopyToAsync(body);
            received.Enqueue((request.Path, request.ContentType, body.ToArray()));
            return Microsoft.AspNetCore.Http.Results.Ok();
        });
        await collector.StartAsync();

        await p.StartOrchestratorAsync(new Dictionary<string, string?>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = collector.Urls.Single(),
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "100",
            ["OTEL_SERVICE_NAME"] = "kimia-orchestrator-under-test",
        });
        Assert.Equal(HttpStatusCode.NotFound, (await p.Api.GetAsync($"/batches/{Guid.NewGuid()}")).StatusCode);

        var export = await WaitForAsync(() => received.FirstOrDefault(r => Contains(r.Body, "GET /batches/{batchId:guid}")) is { Body: not null } hit ? new[] { hit } : null,
            "an OTLP export carrying the GET span");
        Assert.Equal("application/x-protobuf", export[0].ContentType);
        Assert.True(Contains(export[0].Body, "kimia-orchestrator-under-test"), "the resource's service.name is not in the export");
    }

    private static bool Contains(byte[] haystack, string text)
        => haystack.AsSpan().IndexOf(System.Text.Encoding.UTF8.GetBytes(text)) >= 0;

    [Fact]
    public async Task An_otlp_endpoint_that_is_not_an_http_url_stops_the_service_at_start()
    {
        var ex = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(
            () => p.StartOrchestratorAsync(new Dictionary<string, string?> { ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "collector:4317" }));
        Assert.Contains("OTEL_EXPORTER_OTLP_ENDPOINT", ex.Message);
    }

    [Fact]
    public async Task The_worker_is_live_but_not_ready_when_its_database_is_gone()
    {
        var worker = await p.StartWorkerAsync();
        var url = ListenAddress(worker);
        using var anonymous = new HttpClient();
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync($"{url}/health/ready")).StatusCode);

        await using (var admin = new Npgsql.NpgsqlConnection(ServiceSettings.PostgresConnection))
        {
            await admin.OpenAsync();
            await using var drop = new Npgsql.NpgsqlCommand($"DROP DATABASE \"{new Npgsql.NpgsqlConnectionStringBuilder(p.ConnectionString).Database}\" WITH (FORCE)", admin);
            await drop.ExecuteNonQueryAsync();
        }

        var ready = await anonymous.GetAsync($"{url}/health/ready");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync($"{url}/health/live")).StatusCode);
    }

    [Fact]
    public async Task Metrics_can_move_to_a_management_port_of_their_own()
    {
        var port = FreePort();
        await p.StartOrchestratorAsync(new Dictionary<string, string?> { ["Observability:MetricsPort"] = port.ToString() });
        using var anonymous = new HttpClient();

        // not served next to the API any more: anonymous callers meet the API's key check, key holders find nothing
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync($"{p.Api.BaseAddress}metrics")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await p.Api.GetAsync("/metrics")).StatusCode);
        // the Host header is the caller's to write: naming the metrics port in it must not open /metrics on the API's port
        using (var spoofed = new HttpRequestMessage(HttpMethod.Get, $"{p.Api.BaseAddress}metrics"))
        {
            spoofed.Headers.Host = $"127.0.0.1:{port}";
            var answer = await anonymous.SendAsync(spoofed);
            Assert.NotEqual(HttpStatusCode.OK, answer.StatusCode);
            Assert.DoesNotContain("kimiaudio_jobs", await answer.Content.ReadAsStringAsync());
        }
        var metrics = await anonymous.GetAsync($"http://127.0.0.1:{port}/metrics");
        Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
        Assert.Contains("# TYPE kimiaudio_jobs gauge", await metrics.Content.ReadAsStringAsync());
        // the API itself still answers on its own address
        Assert.Equal(HttpStatusCode.OK, (await p.Api.GetAsync("/health/ready")).StatusCode);
    }

    [Fact]
    public async Task A_worker_with_a_metrics_port_serves_metrics_there_and_health_on_its_own_port()
    {
        var port = FreePort();
        var worker = await p.StartWorkerAsync(new Dictionary<string, string?> { ["Observability:MetricsPort"] = port.ToString() });
        var addresses = worker.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses
            .Select(a => new Uri(a.Replace("[::]", "localhost").Replace("0.0.0.0", "localhost")).Port).ToList();
        Assert.Contains(port, addresses);
        var httpPort = Assert.Single(addresses, a => a != port);
        using var anonymous = new HttpClient();

        var metrics = await anonymous.GetAsync($"http://127.0.0.1:{port}/metrics");
        Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
        Assert.Equal("0.0.4", metrics.Content.Headers.ContentType!.Parameters.Single(q => q.Name == "version").Value); // the Prometheus exporter answered (no job ran yet, so no series)
        Assert.Equal(HttpStatusCode.NotFound, (await anonymous.GetAsync($"http://127.0.0.1:{httpPort}/metrics")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync($"http://127.0.0.1:{httpPort}/health/live")).StatusCode);
    }

    private static string ListenAddress(IHost host)
    {
        var address = host.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        var port = new Uri(address.Replace("[::]", "localhost")).Port;
        return $"http://127.0.0.1:{port}";
    }

    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private static string Describe(IEnumerable<Activity> spans)
        => "\n" + string.Join("\n", spans.Select(s => $"  {s.Source.Name} {s.Kind} '{s.DisplayName}' trace={s.TraceId} span={s.SpanId} parent={s.ParentSpanId}"));

    private static Task<T> WaitForAsync<T>(Func<T?> probe, string what) where T : class => WaitForAsync(() => Task.FromResult(probe()), what);

    private static async Task<T> WaitForAsync<T>(Func<Task<T?>> probe, string what) where T : class
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (await probe() is { } value) return value;
            if (clock.Elapsed > TimeSpan.FromSeconds(15)) throw new TimeoutException($"not seen within 15 s: {what}");
            await Task.Delay(100);
        }
    }
}

/// <summary>The GPU memory gauge's reading of nvidia-smi output (no GPU on the CI machine; the format is nvidia-smi's csv,noheader,nounits).</summary>
public sealed class GpuMemoryParseTests
{
    [Fact]
    public void Nvidia_smi_lines_become_bytes_per_gpu_index()
    {
        var parsed = KimiAudio.Worker.Telemetry.GpuMemorySampler.Parse("0, 1234\n1, 80000\n");
        Assert.Equal([("0", 1234L * 1024 * 1024), ("1", 80000L * 1024 * 1024)], parsed);
    }

    [Fact]
    public void An_unexpected_line_is_a_format_error_not_a_wrong_number()
        => Assert.Throws<FormatException>(() => KimiAudio.Worker.Telemetry.GpuMemorySampler.Parse("No devices were found"));
}
