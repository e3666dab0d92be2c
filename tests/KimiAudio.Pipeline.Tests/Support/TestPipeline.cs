using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Dapper;
using KimiAudio.Infrastructure;
using KimiAudio.Infrastructure.Auth;
using KimiAudio.Infrastructure.Storage;
using KimiAudio.Migrator;
using KimiAudio.Orchestrator;
using KimiAudio.Worker.TestHost;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;

namespace KimiAudio.Pipeline.Tests.Support;

/// <summary>
/// One test's private slice of the real services: its own RabbitMQ vhost, PostgreSQL database (migrated) and S3 bucket,
/// plus helpers to run the orchestrator and workers against them (in-process, or the worker as a separate process).
/// </summary>
public sealed class TestPipeline : IAsyncDisposable
{
    private readonly List<WebApplication> orchestrators = [];
    private readonly List<IHost> workers = [];
    private readonly List<Process> processes = [];
    private readonly ServiceProvider storage;
    private readonly HttpClient management;

    public string Id { get; }
    public string VirtualHost { get; }
    public string RabbitMqUri { get; }
    public string ConnectionString { get; }
    public string Bucket { get; }
    public IObjectStore Store { get; }
    public HttpClient Api { get; private set; } = new();
    /// <summary>The orchestrator hosts started so far (their services, e.g. to drive a hosted service directly).</summary>
    public IReadOnlyList<WebApplication> Orchestrators => orchestrators;
    /// <summary>The key <see cref="Api"/> sends, created through the same code path as `kimia keys create`.</summary>
    public string ApiKey { get; private set; } = "";
    /// <summary>S3 endpoint the services use (a fault-injecting proxy can take the place of s3rver).</summary>
    public string S3ServiceUrl { get; set; } = ServiceSettings.S3ServiceUrl;

    private TestPipeline(string id)
    {
        Id = id;
        VirtualHost = $"kimia-test-{id}";
        var broker = new UriBuilder(ServiceSettings.RabbitMqUri) { Path = "/" + VirtualHost };
        RabbitMqUri = broker.Uri.ToString();
        ConnectionString = new NpgsqlConnectionStringBuilder(ServiceSettings.PostgresConnection) { Database = $"kimia_test_{id}" }.ConnectionString;
        Bucket = $"kimia-test-{id}";
        management = new HttpClient { BaseAddress = new Uri(ServiceSettings.RabbitMqManagementUri) };
        management.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic",
            Convert.ToBase64String(Encoding.UTF8.GetBytes($"{ServiceSettings.RabbitMqUser}:{ServiceSettings.RabbitMqPassword}")));
        storage = new ServiceCollection()
            .AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(StorageSettings(ServiceSettings.S3ServiceUrl)).Build())
            .AddPipelineResilience()
            .AddObjectStore()
            .BuildServiceProvider();
        Store = storage.GetRequiredService<IObjectStore>();
    }

    public static async Task<TestPipeline> CreateAsync()
    {
        var pipeline = new TestPipeline(Guid.NewGuid().ToString("N")[..10]);
        await pipeline.ProbeAsync();
        await pipeline.CreateVirtualHostAsync();
        var log = new StringWriter();
        var migrated = DatabaseMigrator.Migrate(pipeline.ConnectionString, log);
        if (!migrated.Successful) throw new InvalidOperationException("migration failed: " + log);
        await pipeline.Store.EnsureBucketAsync(pipeline.Bucket, CancellationToken.None);
        pipeline.ApiKey = await pipeline.CreateApiKeyAsync("tests");
        return pipeline;
    }

    /// <summary>Settings every service of this test gets (command-line configuration wins over the environment).</summary>
    public Dictionary<string, string?> BaseSettings() => new(StorageSettings(S3ServiceUrl))
    {
        ["RabbitMq:Uri"] = RabbitMqUri,
        ["Database:ConnectionString"] = ConnectionString,
        ["Sweeper:IntervalSeconds"] = "0.5",
        ["Orchestrator:MaxAttempts"] = "5",
        ["Worker:LeaseSeconds"] = "10", // tests that need a lease to run out set 3
        ["Worker:RedeliveryBaseDelaySeconds"] = "0.2",
        ["Worker:HttpPort"] = "0", // several workers per test: each health/metrics listener on a free port
        ["Engine:Kind"] = DeterministicEngine.Kind,
        ["TestEngine:MaxBatchSize"] = "4",
        ["Logging:LogLevel:Default"] = "Warning",
        ["Logging:LogLevel:KimiAudio"] = "Information",
    };

    private static Dictionary<string, string?> StorageSettings(string serviceUrl) => new()
    {
        ["S3:ServiceUrl"] = serviceUrl,
        ["S3:AccessKey"] = ServiceSettings.S3AccessKey,
        ["S3:SecretKey"] = ServiceSettings.S3SecretKey,
        ["S3:Emulator"] = ServiceSettings.S3Emulator ? "true" : "false",
        ["Resilience:S3MaxRetries"] = "6",
        ["Resilience:S3BaseDelayMs"] = "20",
    };

    private static string[] ToArgs(Dictionary<string, string?> settings, IDictionary<string, string?>? extra)
    {
        if (extra is not null) foreach (var (k, v) in extra) settings[k] = v;
        return settings.Where(p => p.Value is not null).Select(p => $"--{p.Key}={p.Value}").ToArray();
    }

    public async Task StartOrchestratorAsync(IDictionary<string, string?>? extra = null)
    {
        var settings = BaseSettings();
        settings["urls"] = "http://127.0.0.1:0";
        var app = OrchestratorApp.Build(ToArgs(settings, extra));
        await app.StartAsync();
        orchestrators.Add(app);
        Api = new HttpClient { BaseAddress = new Uri(app.Urls.First()), Timeout = TimeSpan.FromMinutes(2) };
        Api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ApiKey);
    }

    /// <summary>Creates an API key in this test's database (as `kimia keys create` does) and returns its text.</summary>
    public async Task<string> CreateApiKeyAsync(string name)
    {
        await using var dataSource = NpgsqlDataSource.Create(ConnectionString);
        return (await new ApiKeyStore(dataSource).CreateAsync(name, CancellationToken.None)).Key;
    }

    public async Task<IHost> StartWorkerAsync(IDictionary<string, string?>? extra = null)
    {
        var host = TestWorker.Build(ToArgs(BaseSettings(), extra));
        await host.StartAsync();
        workers.Add(host);
        return host;
    }

    public async Task StopWorkerAsync(IHost host)
    {
        await host.StopAsync();
        host.Dispose();
        workers.Remove(host);
    }

    /// <summary>The test worker as its own OS process (so it can be SIGKILLed).</summary>
    public Process StartWorkerProcess(IDictionary<string, string?>? extra = null)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "KimiAudio.Worker.TestHost.dll");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(dll);
        foreach (var arg in ToArgs(BaseSettings(), extra)) info.ArgumentList.Add(arg);
        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start the worker process");
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) Output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) Output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        processes.Add(process);
        return process;
    }

    /// <summary>Everything the worker processes wrote (for failure messages).</summary>
    public StringBuilder Output { get; } = new();

    public Task UploadAsync(string key, byte[] data) => Store.PutAsync(Bucket, key, data, "application/octet-stream", CancellationToken.None);

    public async Task<HttpResponseMessage> PostBatchAsync(object request) => await Api.PostAsJsonAsync("/batches", request);

    public async Task<Guid> SubmitAsync(object request)
    {
        var response = await PostBatchAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"POST /batches answered {(int)response.StatusCode}: {body}");
        return JsonDocument.Parse(body).RootElement.GetProperty("batchId").GetGuid();
    }

    public async Task<JsonElement> GetBatchAsync(Guid batchId)
        => JsonDocument.Parse(await Api.GetStringAsync($"/batches/{batchId}")).RootElement;

    /// <summary>Polls the orchestrator until every job of the batch is terminal and the batch has an end time.</summary>
    public async Task<JsonElement> WaitForBatchAsync(Guid batchId, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        JsonElement batch;
        do
        {
            batch = await GetBatchAsync(batchId);
            if (batch.GetProperty("completedAt").ValueKind != JsonValueKind.Null) return batch;
            await Task.Delay(200);
        }
        while (clock.Elapsed < timeout);
        throw new TimeoutException($"batch {batchId} not finished after {timeout}: {batch}\n{await DescribeJobsAsync(batchId)}\n{Output}");
    }

    public async Task<T> QuerySingleAsync<T>(string sql, object? args = null)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        return await connection.QuerySingleAsync<T>(sql, args);
    }

    public async Task<List<T>> QueryAsync<T>(string sql, object? args = null)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        return (await connection.QueryAsync<T>(sql, args)).ToList();
    }

    public async Task<string> DescribeJobsAsync(Guid batchId)
    {
        var rows = await QueryAsync<(string, string, int, string?)>(
            "SELECT input_key, state, attempts, error FROM jobs WHERE batch_id = @batchId ORDER BY seq", new { batchId });
        return string.Join("\n", rows.Select(r => $"  {r.Item1}: {r.Item2} after {r.Item3} attempt(s) {r.Item4}"));
    }

    /// <summary>Messages ready in a queue of this test's vhost, read live from the broker (a passive declare; 0 when the queue does not exist).</summary>
    public async Task<int> QueueDepthAsync(string queue)
    {
        var factory = new RabbitMQ.Client.ConnectionFactory { Uri = new Uri(RabbitMqUri) };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        try
        {
            return (int)(await channel.QueueDeclarePassiveAsync(queue)).MessageCount;
        }
        catch (RabbitMQ.Client.Exceptions.OperationInterruptedException)
        {
            return 0;
        }
    }

    public async Task<int> CountObjectsAsync(string prefix)
    {
        var n = 0;
        await foreach (var _ in Store.ListAsync(Bucket, prefix, CancellationToken.None)) n++;
        return n;
    }

    private async Task ProbeAsync()
    {
        await ProbeTcpAsync("RabbitMQ", new Uri(ServiceSettings.RabbitMqUri));
        await ProbeTcpAsync("RabbitMQ management", new Uri(ServiceSettings.RabbitMqManagementUri));
        var pg = new NpgsqlConnectionStringBuilder(ServiceSettings.PostgresConnection);
        await ProbeTcpAsync("PostgreSQL", new UriBuilder("tcp", pg.Host, pg.Port).Uri);
        await ProbeTcpAsync("S3", new Uri(ServiceSettings.S3ServiceUrl));
    }

    private static async Task ProbeTcpAsync(string name, Uri uri)
    {
        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync(uri.Host, uri.Port).WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (Exception ex) when (ex is SocketException or TimeoutException)
        {
            throw new InvalidOperationException(
                $"{name} does not answer at {uri.Host}:{uri.Port} ({ex.Message}). Start the services: infra/services.sh start", ex);
        }
    }

    private async Task CreateVirtualHostAsync()
    {
        var vhost = Uri.EscapeDataString(VirtualHost);
        (await management.PutAsync($"api/vhosts/{vhost}", null)).EnsureSuccessStatusCode();
        var permissions = JsonContent.Create(new { configure = ".*", write = ".*", read = ".*" });
        (await management.PutAsync($"api/permissions/{vhost}/{Uri.EscapeDataString(ServiceSettings.RabbitMqUser)}", permissions)).EnsureSuccessStatusCode();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var p in processes)
        {
            try { if (!p.HasExited) p.Kill(entireProcessTree: true); await p.WaitForExitAsync(); } catch (InvalidOperationException) { }
            p.Dispose();
        }
        foreach (var w in workers.ToList())
        {
            try { await w.StopAsync(TimeSpan.FromSeconds(10)); } catch (Exception) { /* best effort */ }
            w.Dispose();
        }
        foreach (var o in orchestrators)
        {
            try { await o.StopAsync(TimeSpan.FromSeconds(10)); } catch (Exception) { /* best effort */ }
            await o.DisposeAsync();
        }
        Api.Dispose();
        try { await management.DeleteAsync($"api/vhosts/{Uri.EscapeDataString(VirtualHost)}"); } catch (HttpRequestException) { }
        management.Dispose();
        NpgsqlConnection.ClearAllPools();
        try
        {
            await using var admin = new NpgsqlConnection(ServiceSettings.PostgresConnection);
            await admin.ExecuteAsync($"DROP DATABASE IF EXISTS \"kimia_test_{Id}\" WITH (FORCE)");
        }
        catch (NpgsqlException) { }
        await storage.DisposeAsync();
    }
}
