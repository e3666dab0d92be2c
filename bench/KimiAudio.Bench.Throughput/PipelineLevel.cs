using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using KimiAudio.Audio;
using KimiAudio.Infrastructure;
using KimiAudio.Infrastructure.Auth;
using KimiAudio.Infrastructure.Storage;
using KimiAudio.Migrator;
using KimiAudio.Orchestrator;
using KimiAudio.Worker;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;

namespace KimiAudio.Bench.Throughput;

/// <summary>
/// The same corpus through the whole pipeline on the local services (infra/services.sh start; source .run/services.env):
/// WAV objects in S3, one batch per (task, answer budget) submitted at once, an in-process orchestrator and worker
/// running the real engine on the same checkpoint. Time runs from the first POST /batches to the last terminal job.
/// </summary>
public static class PipelineLevel
{
    private static string Env(string name) =>
        Environment.GetEnvironmentVariable(name) ?? throw new InvalidOperationException($"{name} is not set: run infra/services.sh start and source .run/services.env (or pass --no-pipeline)");

    /// <returns>The figures, and the text ids of each asr file's result (segments joined) by corpus index.</returns>
    public static async Task<(RunFigures Figures, Dictionary<int, long[]> TextIds)> RunAsync(
        IReadOnlyList<CorpusFile> corpus, string modelFolder, string dtype, int slots)
    {
        var id = Guid.NewGuid().ToString("N")[..8];
        var vhost = $"kimia-throughput-{id}";
        var rabbitUri = new UriBuilder(Env("RABBITMQ_URI")) { Path = "/" + vhost }.Uri.ToString();
        var database = $"kimia_throughput_{id}";
        var connection = new NpgsqlConnectionStringBuilder(Env("POSTGRES_CONNECTION")) { Database = database }.ConnectionString;
        var bucket = $"kimia-throughput-{id}";
        using var management = new HttpClient { BaseAddress = new Uri(Env("RABBITMQ_MANAGEMENT_URI")) };
        management.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic",
            Convert.ToBase64String(Encoding.UTF8.GetBytes($"{Env("RABBITMQ_USER")}:{Env("RABBITMQ_PASSWORD")}")));
        (await management.PutAsync($"api/vhosts/{vhost}", null)).EnsureSuccessStatusCode();
        (await management.PutAsync($"api/permissions/{vhost}/{Env("RABBITMQ_USER")}",
            JsonContent.Create(new { configure = ".*", write = ".*", read = ".*" }))).EnsureSuccessStatusCode();
        try
        {
            if (!DatabaseMigrator.Migrate(connection, TextWriter.Null).Successful) throw new InvalidOperationException("migration failed");
            var settings = new Dictionary<string, string?>
            {
                ["RabbitMq:Uri"] = rabbitUri,
                ["Database:ConnectionString"] = connection,
                ["S3:ServiceUrl"] = Env("S3_SERVICE_URL"),
                ["S3:AccessKey"] = Env("S3_ACCESS_KEY"),
                ["S3:SecretKey"] = Env("S3_SECRET_KEY"),
                ["S3:Emulator"] = Env("S3_EMULATOR"),
                ["Engine:Kind"] = "torch",
                ["Engine:ModelPath"] = modelFolder,
                ["Engine:DType"] = dtype,
                ["Engine:MaxBatchSize"] = slots.ToString(CultureInfo.InvariantCulture),
                // the worker's defaults, spelled out: 2 x slots jobs held (their downloads and decodes run ahead of the
                // model), 2 x slots segments handed to the scheduler (a freed slot is taken at the next step)
                ["Worker:MaxJobsInFlight"] = (2 * slots).ToString(CultureInfo.InvariantCulture),
                ["Worker:MaxInFlightSegments"] = (2 * slots).ToString(CultureInfo.InvariantCulture),
                ["Worker:PrefetchAudioSeconds"] = "1800",
                ["Segmentation:Mode"] = "Fixed", // the engine modes cut the corpus every 30 s: the same segments, the same ids
                ["Worker:HttpPort"] = "0",
                ["Sweeper:IntervalSeconds"] = "1",
                ["Logging:LogLevel:Default"] = "Warning",
            };
            string[] Args(Dictionary<string, string?> extra) => settings.Concat(extra).Select(p => $"--{p.Key}={p.Value}").ToArray();

            await using (var storage = new ServiceCollection()
                .AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(settings).Build())
                .AddPipelineResilience().AddObjectStore().BuildServiceProvider())
            {
                var store = storage.GetRequiredService<IObjectStore>();
                await store.EnsureBucketAsync(bucket, CancellationToken.None);
                foreach (var f in corpus)
                    await store.PutAsync(bucket, $"{Prefix(f)}{f.Name}", WavWriter.Pcm16Mono(f.Samples, AudioDecoder.ModelSampleRate), "audio/wav", CancellationToken.None);
            }

            var orchestrator = OrchestratorApp.Build(Args(new() { ["urls"] = "http://127.0.0.1:0" }));
            await orchestrator.StartAsync();
            var worker = WorkerHost.Build(Args([]));
            await worker.StartAsync(); // returns after the model is loaded and the bus is up
            try
            {
                using var api = new HttpClient { BaseAddress = new Uri(orchestrator.Urls.First()), Timeout = TimeSpan.FromMinutes(30) };
                await using (var keys = NpgsqlDataSource.Create(connection))
                    api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", (await new ApiKeyStore(keys).CreateAsync("bench", CancellationToken.None)).Key);

                Rss.ResetPeak();
                var clock = Stopwatch.StartNew();
                foreach (var group in corpus.GroupBy(Prefix))
                {
                    var f = group.First();
                    var response = await api.PostAsJsonAsync("/batches", new
                    {
                        source = $"s3://{bucket}/{group.Key}",
                        task = f.Task,
                        outputType = f.Chat ? "both" : "text",
                        sampling = new { maxTokens = f.MaxTokens, seed = 1 },
                    });
                    if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"POST /batches: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                }

                var finishedAt = new Dictionary<string, double>();
                await using var db = NpgsqlDataSource.Create(connection);
                while (finishedAt.Count < corpus.Count)
                {
                    await using (var cmd = db.CreateCommand(TerminalJobsSql))
                    await using (var reader = await cmd.ExecuteReaderAsync())
                        while (await reader.ReadAsync())
                            finishedAt.TryAdd(reader.GetString(0), clock.Elapsed.TotalSeconds);
                    if (clock.Elapsed > TimeSpan.FromMinutes(30)) throw new TimeoutException($"{finishedAt.Count} of {corpus.Count} jobs finished in 30 min");
                    await Task.Delay(50);
                }
                double wall = finishedAt.Values.Max();
                double peak = Rss.PeakMb();

                var rows = new List<(string Key, string State, string? Error, long[]? TextIds, int Generated)>();
                await using (var cmd = db.CreateCommand(ResultsSql))
                await using (var reader = await cmd.ExecuteReaderAsync())
                    while (await reader.ReadAsync())
                        rows.Add((reader.GetString(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2),
                            reader.IsDBNull(3) ? null : reader.GetFieldValue<int[]>(3).Select(x => (long)x).ToArray(),
                            reader.IsDBNull(4) ? 0 : reader.GetInt32(4)));
                var failed = rows.Where(r => r.State != "succeeded").ToList();
                if (failed.Count > 0) throw new InvalidOperationException($"pipeline: {failed.Count} jobs did not succeed, e.g. {failed[0].Key}: {failed[0].State} {failed[0].Error}");
                var byKey = corpus.ToDictionary(f => $"{Prefix(f)}{f.Name}");
                var textIds = rows.Where(r => !byKey[r.Key].Chat).ToDictionary(r => byKey[r.Key].Index, r => r.TextIds ?? []);
                var perFile = finishedAt.Values.ToArray();
                long tokens = rows.Sum(r => (long)r.Generated);
                return (new RunFigures($"pipeline {slots}", dtype, corpus.Sum(f => f.Seconds), wall, tokens, perFile, peak, []), textIds);
            }
            finally
            {
                await worker.StopAsync();
                await orchestrator.StopAsync();
                (worker as IDisposable)?.Dispose();
                await orchestrator.DisposeAsync();
            }
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
    }

    /// <summary>One prefix (and so one batch) per task and answer budget.</summary>
    private static string Prefix(CorpusFile f) => $"in/{f.Task}-{f.MaxTokens}/";

    private const string TerminalJobsSql = "SELECT input_key FROM jobs WHERE state IN ('succeeded', 'failed', 'cancelled', 'skipped')";

    /// <summary>Generated tokens per job counted as the engine level counts them: text ids plus speech ids of the result.</summary>
    private const string ResultsSql = """
        SELECT j.input_key, j.state, j.error, r.text_tokens, cardinality(r.text_tokens) + cardinality(r.audio_tokens)
        FROM jobs j LEFT JOIN results r ON r.job_id = j.job_id
        """;
}
