using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using KimiAudio.Bench.Pipeline;
using KimiAudio.Contracts;
using KimiAudio.Infrastructure;
using KimiAudio.Infrastructure.Auth;
using KimiAudio.Infrastructure.Storage;
using KimiAudio.Migrator;
using KimiAudio.Orchestrator;
using KimiAudio.Worker.TestHost;
using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;

// dotnet run -c Release --project bench/KimiAudio.Bench.Pipeline -- [jobs=10000] [engineBatch=32]
// Needs the local services (infra/services.sh start; source .run/services.env).
var jobs = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 10_000;
var engineBatch = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 32;
string Env(string name) => Environment.GetEnvironmentVariable(name) ?? throw new InvalidOperationException($"{name} not set: source .run/services.env");

var id = Guid.NewGuid().ToString("N")[..8];
var vhost = $"kimia-bench-{id}";
var rabbitUri = new UriBuilder(Env("RABBITMQ_URI")) { Path = "/" + vhost }.Uri.ToString();
var database = $"kimia_bench_{id}";
var connection = new NpgsqlConnectionStringBuilder(Env("POSTGRES_CONNECTION")) { Database = database }.ConnectionString;
var bucket = $"kimia-bench-{id}";
using var management = new HttpClient { BaseAddress = new Uri(Env("RABBITMQ_MANAGEMENT_URI")) };
management.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic",
    Convert.ToBase64String(Encoding.UTF8.GetBytes($"{Env("RABBITMQ_USER")}:{Env("RABBITMQ_PASSWORD")}")));
(await management.PutAsync($"api/vhosts/{vhost}", null)).EnsureSuccessStatusCode();
(await management.PutAsync($"api/permissions/{vhost}/{Env("RABBITMQ_USER")}", JsonContent.Create(new { configure = ".*", write = ".*", read = ".*" }))).EnsureSuccessStatusCode();
if (!DatabaseMigrator.Migrate(connection, TextWriter.Null).Successful) throw new InvalidOperationException("migration failed");

var settings = new Dictionary<string, string?>
{
    ["RabbitMq:Uri"] = rabbitUri,
    ["Database:ConnectionString"] = connection,
    ["S3:ServiceUrl"] = Env("S3_SERVICE_URL"),
    ["S3:AccessKey"] = Env("S3_ACCESS_KEY"),
    ["S3:SecretKey"] = Env("S3_SECRET_KEY"),
    ["S3:Emulator"] = Env("S3_EMULATOR"),
    ["Engine:Kind"] = DeterministicEngine.Kind,
    ["TestEngine:MaxBatchSize"] = engineBatch.ToString(CultureInfo.InvariantCulture),
    ["Worker:MaxJobsInFlight"] = (4 * engineBatch).ToString(CultureInfo.InvariantCulture),
    ["Worker:DownloadParallelism"] = "16",
    ["Worker:HttpPort"] = "0",
    ["Logging:LogLevel:Default"] = "Warning",
};
string[] Args(Dictionary<string, string?> extra) => settings.Concat(extra).Select(p => $"--{p.Key}={p.Value}").ToArray();

var rows = new List<(string, string)>();
try
{
    // 1. raw broker rate: the same message type, a consumer that does nothing
    var broker = await BrokerRate.MeasureAsync(rabbitUri, jobs);
    rows.Add(("raw broker: publish→consume (MassTransit, parallel publish, 1 consumer endpoint)", $"{broker:F0} msg/s"));

    // 2. inputs
    await using var storage = new ServiceCollection()
        .AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(settings).Build())
        .AddPipelineResilience().AddObjectStore().BuildServiceProvider();
    var store = storage.GetRequiredService<IObjectStore>();
    await store.EnsureBucketAsync(bucket, CancellationToken.None);
    var upload = Stopwatch.StartNew();
    await Parallel.ForEachAsync(Enumerable.Range(0, jobs), new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (i, ct) =>
    {
        // 0.1 s each, every file different: identical content would be skipped as already annotated
        var samples = new float[1600];
        samples[0] = (i % 30000) / 32768f;
        samples[1] = (i / 30000) / 32768f;
        await store.PutAsync(bucket, $"in/{i:D6}.wav", KimiAudio.Audio.WavWriter.Pcm16Mono(samples, 16000), "audio/wav", ct);
    });
    rows.Add(("upload of inputs (not part of the pipeline figure)", $"{jobs / upload.Elapsed.TotalSeconds:F0} obj/s"));

    // 3. the pipeline: orchestrator + one worker process-equivalent, zero-cost engine
    var orchestrator = OrchestratorApp.Build(Args(new() { ["urls"] = "http://127.0.0.1:0" }));
    await orchestrator.StartAsync();
    var worker = TestWorker.Build(Args([]));
    await worker.StartAsync();
    using var api = new HttpClient { BaseAddress = new Uri(orchestrator.Urls.First()), Timeout = TimeSpan.FromMinutes(30) };
    await using (var keys = NpgsqlDataSource.Create(connection))
        api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", (await new ApiKeyStore(keys).CreateAsync("bench", CancellationToken.None)).Key);
    var clock = Stopwatch.StartNew();
    var response = await api.PostAsJsonAsync("/batches", new { source = $"s3://{bucket}/in/", task = "asr" });
    response.EnsureSuccessStatusCode();
    var submitted = clock.Elapsed;
    await using (var db = new NpgsqlConnection(connection))
    {
        await db.OpenAsync();
        while (true)
        {
            await using var cmd = new NpgsqlCommand("SELECT count(*) FROM jobs WHERE state IN ('succeeded', 'failed', 'cancelled', 'skipped')", db);
            if ((long)(await cmd.ExecuteScalarAsync())! >= jobs) break;
            await Task.Delay(100);
        }
    }
    var total = clock.Elapsed;
    await using (var db = new NpgsqlConnection(connection))
    {
        await db.OpenAsync();
        await using var cmd = new NpgsqlCommand("SELECT count(*) FROM jobs WHERE state = 'succeeded'", db);
        var succeeded = (long)(await cmd.ExecuteScalarAsync())!;
        if (succeeded != jobs) throw new InvalidOperationException($"{succeeded} of {jobs} jobs succeeded");
    }
    rows.Add(("submit: list + COPY + publish (POST /batches)", $"{jobs / submitted.TotalSeconds:F0} jobs/s ({submitted.TotalSeconds:F1} s)"));
    rows.Add(($"pipeline: submit → last result row ({jobs} jobs, engine batch {engineBatch})", $"{jobs / total.TotalSeconds:F0} jobs/s ({total.TotalSeconds:F1} s)"));
    await worker.StopAsync();
    await orchestrator.StopAsync();
}
finally
{
    await management.DeleteAsync($"api/vhosts/{vhost}");
    NpgsqlConnection.ClearAllPools();
    await using var admin = new NpgsqlConnection(Env("POSTGRES_CONNECTION"));
    await admin.OpenAsync();
    await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)", admin);
    await drop.ExecuteNonQueryAsync();
}

Console.WriteLine();
Console.WriteLine($"| {"measurement",-80} | {"rate",-26} |");
Console.WriteLine($"|{new string('-', 82)}|{new string('-', 28)}|");
foreach (var (name, value) in rows) Console.WriteLine($"| {name,-80} | {value,-26} |");
