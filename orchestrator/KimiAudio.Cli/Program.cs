using System.CommandLine;
using KimiAudio.Cli;
using KimiAudio.Migrator;

// kimia: submit a batch, watch it, print and export its results, retry or cancel it, check the set-up, migrate the database.
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
var maxAttempts = new Option<int?>("--max-attempts") { Description = "attempts per job before it fails for good, 1 … 100 (default: the orchestrator's Orchestrator:MaxAttempts)" };
var wait = new Option<bool>("--wait") { Description = "show a progress bar until the batch is finished" };
var submit = new Command("submit", "Submit a batch; prints its id") { source, manifest, task, question, output, priority, temperature, seed, maxTokens, maxAttempts, wait };
submit.SetAction(async (parse, ct) => await CliAction.RunAsync(async () =>
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
        maxAttempts = parse.GetValue(maxAttempts),
        sampling = new { temperature = parse.GetValue(temperature), seed = parse.GetValue(seed), maxTokens = parse.GetValue(maxTokens) },
    }, ct);
    var batchId = created.GetProperty("batchId").GetGuid();
    Console.WriteLine(batchId);
    Console.Error.WriteLine($"{created.GetProperty("totalJobs").GetInt32()} job(s), {created.GetProperty("skippedJobs").GetInt32()} already annotated");
    if (parse.GetValue(wait)) await Views.WatchAsync(client, batchId, Console.Error, live: !Console.IsErrorRedirected, ct);
}));
root.Subcommands.Add(submit);

var connection = new Option<string?>("--connection") { Description = "PostgreSQL connection string (default $Database__ConnectionString or $POSTGRES_CONNECTION)" };
var migrate = new Command("migrate", "Apply the database migrations") { connection };
migrate.SetAction(parse => CliAction.RunAsync(() =>
{
    var cs = DatabaseMigrator.ConnectionString(parse.GetValue(connection)) ?? throw new CliException(DatabaseMigrator.NoConnectionString);
    var result = DatabaseMigrator.Migrate(cs, Console.Out);
    if (!result.Successful) throw new CliException($"migration failed at {result.ErrorScript?.Name}: {result.Error?.Message}");
    return Task.CompletedTask;
}).GetAwaiter().GetResult());
root.Subcommands.Add(migrate);

var uploadDir = new Argument<DirectoryInfo>("directory") { Description = "local folder whose files are uploaded" };
var uploadTarget = new Argument<string>("target") { Description = "s3://bucket/prefix (the bucket is created when missing)" };
var upload = new Command("upload", "Upload a folder's files to S3 (settings from S3_SERVICE_URL, S3_ACCESS_KEY, S3_SECRET_KEY, S3_EMULATOR)") { uploadDir, uploadTarget };
upload.SetAction(async (parse, ct) => await CliAction.RunAsync(async () =>
{
    var count = await Uploader.UploadAsync(parse.GetValue(uploadDir)!, parse.GetValue(uploadTarget)!, ct);
    Console.Error.WriteLine($"uploaded {count} file(s) to {parse.GetValue(uploadTarget)}");
}));
root.Subcommands.Add(upload);

root.Subcommands.Add(KeyCommands.Create());
root.Subcommands.Add(ScheduleCommands.Create(api, apiKey));
foreach (var command in BatchCommands.Create(api, apiKey)) root.Subcommands.Add(command);
root.Subcommands.Add(DoctorCommand.Create(api, apiKey));

return await CliAction.InvokeAsync(root, args);
