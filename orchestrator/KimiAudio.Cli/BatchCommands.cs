using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using KimiAudio.Contracts;

namespace KimiAudio.Cli;

/// <summary>`kimia status|results|export|subtitles|cancel|retry-failed`: watching batches and reading their results through the API.</summary>
public static class BatchCommands
{
    public static readonly string[] ExportFormats = ["jsonl", "csv", "parquet", "nemo", "hf", "lhotse"];

    public static IEnumerable<Command> Create(Option<string> api, Option<string?> apiKey)
    {
        ApiClient Client(ParseResult parse) => new(new Uri(parse.GetValue(api)!), parse.GetValue(apiKey));
        yield return Status(Client);
        yield return Results(Client);
        yield return Export(Client);
        yield return Subtitles(Client);
        yield return OnBatch("cancel", "Cancel a batch: its jobs not yet running will not run (running ones finish); prints how many were cancelled",
            Client, "cancel", "cancelledJobs", "job(s) cancelled");
        yield return OnBatch("retry-failed", "Queue a batch's failed jobs again (only those); prints how many were queued",
            Client, "retry-failed", "requeuedJobs", "failed job(s) queued again");
    }

    private static Argument<Guid> BatchId() => new("batch-id") { Description = "the id printed by `kimia submit` (see `kimia status`)" };

    private static Command Status(Func<ParseResult, ApiClient> client)
    {
        var batchId = new Argument<string?>("batch-id") { Description = "a batch id; without it: the newest batches as a table", Arity = ArgumentArity.ZeroOrOne };
        var watch = new Option<bool>("--watch") { Description = "keep showing progress until the batch is finished (a live bar on a terminal, plain lines otherwise)" };
        var state = new Option<string?>("--state") { Description = "only batches in this state (list only)" };
        state.AcceptOnlyFromAmong([.. PipelineState.Batch.All]);
        var limit = new Option<int>("--limit") { Description = "most batches listed (1-1000)", DefaultValueFactory = _ => 50 };
        var command = new Command("status", "Show a batch's progress (bar and ETA on a terminal), or list the newest batches") { batchId, watch, state, limit };
        command.SetAction((parse, ct) => CliAction.RunAsync(async () =>
        {
            using var api = client(parse);
            var live = !Console.IsOutputRedirected;
            if (OptionalGuid(parse.GetValue(batchId), "batch-id") is { } id)
            {
                if (parse.GetValue(watch)) await Views.WatchAsync(api, id, Console.Out, live, ct);
                else
                {
                    var batch = await api.GetBatchAsync(id, ct);
                    Console.WriteLine(live ? Views.ProgressLine(batch) : Views.PlainProgressLine(batch));
                    if (Views.QualityLine(batch) is { } quality) Console.WriteLine(quality);
                }
                return;
            }
            if (parse.GetValue(watch)) throw new UsageException("--watch needs a batch-id");
            var n = parse.GetValue(limit);
            if (n is < 1 or > 1000) throw new UsageException($"--limit must be between 1 and 1000 (got {n})");
            var query = $"/batches?limit={n}" + (parse.GetValue(state) is { } s ? $"&state={s}" : "");
            var items = (await api.GetAsync(query, ct)).GetProperty("items");
            Views.WriteTable(Console.Out, ["batch", "created", "state", "task", "files", "succeeded", "failed", "open", "source"],
                items.EnumerateArray().Select(b => new[]
                {
                    b.GetProperty("batchId").GetGuid().ToString(), b.GetProperty("createdAt").GetDateTime().ToUniversalTime().ToString("u", CultureInfo.InvariantCulture),
                    b.GetProperty("state").GetString()!, b.GetProperty("task").GetString()!, Int(b, "totalJobs"), Int(b, "succeeded"), Int(b, "failed"),
                    Int(b, "open"), b.GetProperty("source").GetString()!,
                }).ToList());
        }));
        return command;
    }

    private static Command Results(Func<ParseResult, ApiClient> client)
    {
        var positional = new Argument<string?>("batch-id") { Description = "same as --batch", Arity = ArgumentArity.ZeroOrOne };
        var batch = new Option<string?>("--batch") { Description = "only this batch (its id)" };
        var task = new Option<string?>("--task") { Description = "only batches of this task (asr, caption, qa, emotion, chat, ...)" };
        var state = new Option<string?>("--state") { Description = "only jobs in this state" };
        state.AcceptOnlyFromAmong([.. PipelineState.Job.All]);
        var query = new Option<string?>("--query") { Description = "only results whose text contains this (case-insensitive)" };
        var json = new Option<bool>("--json") { Description = "one JSON object per line instead of a table" };
        var limit = new Option<int?>("--limit") { Description = "most rows (default: all)" };
        var minWer = new Option<double?>("--min-wer") { Description = "only results scored against a reference with WER at least this (0.3 = 30 %): the worst rows" };
        var maxWer = new Option<double?>("--max-wer") { Description = "only results scored against a reference with WER at most this" };
        var command = new Command("results", "Print results across batches (one row per file, with errors of failed jobs) as a table or JSON lines")
        {
            positional, batch, task, state, query, json, limit, minWer, maxWer,
        };
        command.SetAction((parse, ct) => CliAction.RunAsync(async () =>
        {
            var (p, b) = (OptionalGuid(parse.GetValue(positional), "batch-id"), OptionalGuid(parse.GetValue(batch), "--batch"));
            if (p is not null && b is not null && p != b) throw new UsageException("give the batch once: as batch-id or as --batch");
            var max = parse.GetValue(limit);
            if (max is < 1) throw new UsageException($"--limit must be at least 1 (got {max})");
            var filter = Query(("batchId", (p ?? b)?.ToString()), ("task", parse.GetValue(task)), ("state", parse.GetValue(state)), ("q", parse.GetValue(query)),
                ("minWer", parse.GetValue(minWer)?.ToString("R", CultureInfo.InvariantCulture)), ("maxWer", parse.GetValue(maxWer)?.ToString("R", CultureInfo.InvariantCulture)));
            using var api = client(parse);
            var rows = new List<string[]>();
            var asJson = parse.GetValue(json);
            var count = 0;
            string? after = null;
            do
            {
                var pageSize = Math.Min(500, max is { } m ? m - count : 500);
                var page = await api.GetAsync($"/results?limit={pageSize}{filter}" + (after is null ? "" : $"&after={Uri.EscapeDataString(after)}"), ct);
                foreach (var r in page.GetProperty("items").EnumerateArray())
                {
                    count++;
                    if (asJson) Console.WriteLine(r.GetRawText());
                    else rows.Add(ResultRow(r));
                }
                after = page.GetProperty("next").GetString();
            }
            while (after is not null && (max is null || count < max));
            if (!asJson) Views.WriteTable(Console.Out, ["input", "state", "seconds", "wer", "text / error", "speech"], rows);
        }));
        return command;
    }

    private static string[] ResultRow(JsonElement r)
    {
        var result = r.GetProperty("result");
        var hasResult = result.ValueKind == JsonValueKind.Object;
        var seconds = r.GetProperty("audioSeconds");
        var state = r.GetProperty("state").GetString()!;
        return
        [
            r.GetProperty("input").GetString()!,
            state == PipelineState.Job.Skipped && hasResult ? "reused" : state,
            seconds.ValueKind == JsonValueKind.Number ? seconds.GetDouble().ToString("F1", CultureInfo.InvariantCulture) : "",
            hasResult && result.TryGetProperty("quality", out var q) && q.ValueKind == JsonValueKind.Object
                ? q.GetProperty("wer").GetDouble().ToString("P1", CultureInfo.InvariantCulture) : "",
            hasResult ? result.GetProperty("text").GetString()! : r.GetProperty("error").GetString() ?? "",
            hasResult ? result.GetProperty("artifact").GetString() ?? "" : "",
        ];
    }

    private static Command Export(Func<ParseResult, ApiClient> client)
    {
        var batchId = BatchId();
        var format = new Option<string>("--format") { Description = "jsonl | csv | parquet (our columns), nemo (NeMo manifest), hf (Hugging Face datasets Parquet), lhotse (Lhotse supervisions)", DefaultValueFactory = _ => "jsonl" };
        format.AcceptOnlyFromAmong(ExportFormats);
        var output = new Option<string>("--output", "-o") { Description = "file to write, or - for stdout", DefaultValueFactory = _ => "-" };
        var command = new Command("export", "Write one row per file of a batch (input, task, state, text, token counts, timings, audio seconds, error, speech) as JSONL, CSV or Parquet, streamed")
        {
            batchId, format, output,
        };
        command.SetAction((parse, ct) => CliAction.RunAsync(async () =>
        {
            using var api = client(parse);
            await DownloadToAsync(api, $"/batches/{parse.GetValue(batchId)}/export?format={parse.GetValue(format)}", parse.GetValue(output)!, ct);
        }));
        return command;
    }

    private static Command Subtitles(Func<ParseResult, ApiClient> client)
    {
        var jobId = new Argument<Guid>("job-id") { Description = "a job id (see `kimia results`)" };
        var format = new Option<string>("--format") { Description = "srt | vtt (SubRip or WebVTT)", DefaultValueFactory = _ => "srt" };
        format.AcceptOnlyFromAmong("srt", "vtt");
        var output = new Option<string>("--output", "-o") { Description = "file to write, or - for stdout", DefaultValueFactory = _ => "-" };
        var command = new Command("subtitles", "Write a job's result as subtitles, one cue per segment (its start and end in the input, its text)")
        {
            jobId, format, output,
        };
        command.SetAction((parse, ct) => CliAction.RunAsync(async () =>
        {
            using var api = client(parse);
            await DownloadToAsync(api, $"/jobs/{parse.GetValue(jobId)}/subtitles?format={parse.GetValue(format)}", parse.GetValue(output)!, ct);
        }));
        return command;
    }

    /// <summary>Streams <paramref name="path"/> to stdout (-) or to a file (through FILE.partial, so a broken download leaves no file).</summary>
    private static async Task DownloadToAsync(ApiClient api, string path, string target, CancellationToken ct)
    {
        if (target != "-" && Directory.Exists(target)) throw new UsageException($"--output '{target}' is a folder: name a file, or - for stdout");
        if (target == "-")
        {
            await using var stdout = Console.OpenStandardOutput();
            await api.DownloadAsync(path, stdout, ct);
            return;
        }
        var partial = target + ".partial";
        try
        {
            await using (var file = File.Create(partial)) await api.DownloadAsync(path, file, ct);
            File.Move(partial, target, overwrite: true);
        }
        finally
        {
            File.Delete(partial);
        }
        Console.Error.WriteLine($"wrote {new FileInfo(target).Length} bytes to {target}");
    }

    private static Command OnBatch(string name, string description, Func<ParseResult, ApiClient> client, string verb, string countField, string done)
    {
        var batchId = BatchId();
        var command = new Command(name, description) { batchId };
        command.SetAction((parse, ct) => CliAction.RunAsync(async () =>
        {
            using var api = client(parse);
            var id = parse.GetValue(batchId);
            var answer = await api.SendAsync(HttpMethod.Post, $"/batches/{id}/{verb}", null, ct);
            var count = answer!.Value.GetProperty(countField).GetInt32();
            Console.WriteLine(count);
            Console.Error.WriteLine($"batch {id}: {count} {done}");
        }));
        return command;
    }

    /// <summary>An optional id argument (System.CommandLine does not report a bad value of an optional Guid argument itself).</summary>
    private static Guid? OptionalGuid(string? text, string name)
        => text is null ? null
            : Guid.TryParse(text, out var id) ? id
            : throw new UsageException($"{name} '{text}' is not a batch id (a GUID such as {Guid.Empty})");

    private static string Query(params (string Name, string? Value)[] parameters)
        => string.Concat(parameters.Where(p => !string.IsNullOrEmpty(p.Value)).Select(p => $"&{p.Name}={Uri.EscapeDataString(p.Value!)}"));

    private static string Int(JsonElement e, string name) => e.GetProperty(name).GetInt32().ToString(CultureInfo.InvariantCulture);
}
