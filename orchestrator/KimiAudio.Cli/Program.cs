using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using KimiAudio.Cli;
using KimiAudio.Migrator;

// kimia: submit a batch, watch it, print its results, migrate the database.
var api = new Option<string>("--api")
{
    Description = "Orchestrator base address (default $KIMIA_API or http://127.0.0.1:5080)",
    DefaultValueFactory = _ => Environment.GetEnvironmentVariable("KIMIA_API") ?? "http://127.0.0.1:5080",
    Recursive = true,
};
var apiKey = new Option<string?>("--api-key")
{
    Description = $"API key of the orchestrator (default ${ApiClient.ApiKeyVariable}; create one with `kimia keys create <name>`)",
    Recursive = true,
};
var root = new RootCommand("kimia: run Kimi-Audio over audio collections through the KimiAudio.Pipeline orchestrator");
root.Options.Add(api);
root.Options.Add(apiKey);

var source = new Option<string?>("--source") { Description = "s3://bucket/prefix: every object under it is one job" };
var manifest = new Option<string?>("--manifest") { Description = "s3://bucket/list.jsonl|csv: keys (and optional prompts) to process" };
var task = new Option<string>("--task") { Description = "asr | caption | qa | emotion | chat | ...", DefaultValueFactory = _ => "asr" };
var question = new Option<string?>("--question") { Description = "the question of a qa batch" };
var output = new Option<string>("--output") { Description = "text | audio | both", DefaultValueFactory = _ => "text" };
var priority = new Option<int>("--priority") { Description = "0 (lowest) … 9", DefaultValueFactory = _ => 0 };
var temperature = new Option<double?>("--temperature") { Description = "sampling temperature" };
var seed = new Option<int?>("--seed") { Description = "sampling seed" };
var maxTokens = new Option<int?>("--max-tokens") { Description = "most tokens generated per segment (default: the model's bound)" };
var wait = new Option<bool>("--wait") { Description = "show a progress bar until the batch is finished" };
var submit = new Command("submit", "Submit a batch; prints its id") { source, manifest, task, question, output, priority, temperature, seed, maxTokens, wait };
submit.SetAction(async (parse, ct) => await RunAsync(async () =>
{
    using var client = new ApiClient(new Uri(parse.GetValue(api)!), parse.GetValue(apiKey));
    var created = await client.SubmitAsync(new
    {
        source = parse.GetValue(source),
        manifest = parse.GetValue(manifest),
        task = parse.GetValue(task),
        question = parse.GetValue(question),
        outputType = parse.GetValue(output),
        priority = parse.GetValue(priority),
        sampling = new { temperature = parse.GetValue(temperature), seed = parse.GetValue(seed), maxTokens = parse.GetValue(maxTokens) },
    }, ct);
    var batchId = created.GetProperty("batchId").GetGuid();
    Console.WriteLine(batchId);
    Console.Error.WriteLine($"{created.GetProperty("totalJobs").GetInt32()} job(s), {created.GetProperty("skippedJobs").GetInt32()} already annotated");
    if (parse.GetValue(wait)) await WatchAsync(client, batchId, ct);
}));
root.Subcommands.Add(submit);

var batchArgument = new Argument<Guid>("batch-id") { Description = "the id printed by submit" };
var watch = new Option<bool>("--watch") { Description = "keep redrawing until the batch is finished" };
var status = new Command("status", "Show a batch's progress") { batchArgument, watch };
status.SetAction(async (parse, ct) => await RunAsync(async () =>
{
    using var client = new ApiClient(new Uri(parse.GetValue(api)!), parse.GetValue(apiKey));
    var batchId = parse.GetValue(batchArgument);
    if (parse.GetValue(watch)) await WatchAsync(client, batchId, ct);
    else Console.WriteLine(Views.ProgressLine(await client.GetBatchAsync(batchId, ct)));
}));
root.Subcommands.Add(status);

var resultsArgument = new Argument<Guid>("batch-id") { Description = "the id printed by submit" };
var results = new Command("results", "Print a batch's results (and its failed jobs) as a table") { resultsArgument };
results.SetAction(async (parse, ct) => await RunAsync(async () =>
{
    using var client = new ApiClient(new Uri(parse.GetValue(api)!), parse.GetValue(apiKey));
    var batchId = parse.GetValue(resultsArgument);
    var rows = new List<string[]>();
    await foreach (var r in client.ResultsAsync(batchId, ct))
        rows.Add([
            r.GetProperty("inputKey").GetString()!,
            r.GetProperty("reusedJobId").ValueKind == JsonValueKind.Null ? "succeeded" : "reused",
            r.GetProperty("audioSeconds").GetDouble().ToString("F1", CultureInfo.InvariantCulture),
            r.GetProperty("text").GetString()!,
            r.GetProperty("artifactKey").GetString() ?? "",
        ]);
    await foreach (var j in client.FailedJobsAsync(batchId, ct))
        rows.Add([j.GetProperty("inputKey").GetString()!, "failed", "", j.GetProperty("error").GetString() ?? "", ""]);
    Views.WriteTable(Console.Out, ["input", "state", "seconds", "text / error", "speech"], rows);
}));
root.Subcommands.Add(results);

var connection = new Option<string?>("--connection") { Description = "PostgreSQL connection string (default $POSTGRES_CONNECTION)" };
var migrate = new Command("migrate", "Apply the database migrations") { connection };
migrate.SetAction(parse => RunAsync(() =>
{
    var cs = parse.GetValue(connection) ?? Environment.GetEnvironmentVariable("POSTGRES_CONNECTION")
        ?? throw new CliException("no connection string: pass --connection or set POSTGRES_CONNECTION");
    var result = DatabaseMigrator.Migrate(cs, Console.Out);
    if (!result.Successful) throw new CliException($"migration failed at {result.ErrorScript?.Name}: {result.Error?.Message}");
    return Task.CompletedTask;
}).GetAwaiter().GetResult());
root.Subcommands.Add(migrate);

var uploadDir = new Argument<DirectoryInfo>("directory") { Description = "local folder whose files are uploaded" };
var uploadTarget = new Argument<string>("target") { Description = "s3://bucket/prefix (the bucket is created when missing)" };
var upload = new Command("upload", "Upload a folder's files to S3 (settings from S3_SERVICE_URL, S3_ACCESS_KEY, S3_SECRET_KEY, S3_EMULATOR)") { uploadDir, uploadTarget };
upload.SetAction(async (parse, ct) => await RunAsync(async () =>
{
    var count = await Uploader.UploadAsync(parse.GetValue(uploadDir)!, parse.GetValue(uploadTarget)!, ct);
    Console.Error.WriteLine($"uploaded {count} file(s) to {parse.GetValue(uploadTarget)}");
}));
root.Subcommands.Add(upload);

root.Subcommands.Add(KeyCommands.Create());
root.Subcommands.Add(ScheduleCommands.Create(api, apiKey));

return await root.Parse(args).InvokeAsync();

static async Task WatchAsync(ApiClient client, Guid batchId, CancellationToken ct)
{
    while (true)
    {
        var batch = await client.GetBatchAsync(batchId, ct);
        var done = batch.GetProperty("completedAt").ValueKind != JsonValueKind.Null;
        Console.Error.Write("\r" + Views.ProgressLine(batch) + "   ");
        if (done) break;
        await Task.Delay(500, ct);
    }
    Console.Error.WriteLine();
}

static async Task<int> RunAsync(Func<Task> action)
{
    try
    {
        await action();
        return 0;
    }
    catch (Exception ex) when (ex is CliException or HttpRequestException)
    {
        Console.Error.WriteLine($"kimia: {ex.Message}");
        return 1;
    }
}
