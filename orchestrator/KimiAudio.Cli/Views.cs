using System.Globalization;
using System.Text.Json;
using KimiAudio.Contracts;

namespace KimiAudio.Cli;

/// <summary>Console rendering: the progress bar and the results table.</summary>
public static class Views
{
    public static string ProgressLine(JsonElement batch, int width = 30)
    {
        var total = batch.GetProperty("totalJobs").GetInt32();
        var finished = batch.GetProperty("finished").GetInt32();
        var counts = batch.GetProperty("counts");
        var share = total == 0 ? 1 : (double)finished / total;
        var filled = (int)Math.Round(share * width);
        var eta = batch.GetProperty("etaSeconds").ValueKind == JsonValueKind.Number ? $"{batch.GetProperty("etaSeconds").GetDouble():F0}s" : "?";
        return string.Create(CultureInfo.InvariantCulture,
            $"[{new string('#', filled)}{new string('-', width - filled)}] {finished}/{total} {share:P0}  " +
            $"ok {counts.GetProperty(PipelineState.Job.Succeeded).GetInt32()} failed {counts.GetProperty(PipelineState.Job.Failed).GetInt32()} " +
            $"skipped {counts.GetProperty(PipelineState.Job.Skipped).GetInt32()} running {counts.GetProperty(PipelineState.Job.Running).GetInt32()}  " +
            $"{batch.GetProperty("jobsPerSecond").GetDouble():F1} jobs/s  ETA {eta}");
    }

    /// <summary>The batch's corpus scores against its references (GET /batches/{id} "quality"), or null when nothing is scored.</summary>
    public static string? QualityLine(JsonElement batch)
    {
        if (!batch.TryGetProperty("quality", out var q) || q.ValueKind != JsonValueKind.Object) return null;
        return string.Create(CultureInfo.InvariantCulture,
            $"quality: WER {q.GetProperty("wer").GetDouble():P2} (S {q.GetProperty("substitutions").GetInt64()}, D {q.GetProperty("deletions").GetInt64()}, " +
            $"I {q.GetProperty("insertions").GetInt64()} over {q.GetProperty("referenceWords").GetInt64()} reference words), " +
            $"CER {q.GetProperty("cer").GetDouble():P2}, {q.GetProperty("scoredResults").GetInt32()} scored result(s), worst WER {q.GetProperty("maxWer").GetDouble():P1}");
    }

    /// <summary>The same facts without the bar, for logs and pipes.</summary>
    public static string PlainProgressLine(JsonElement batch)
    {
        var total = batch.GetProperty("totalJobs").GetInt32();
        var finished = batch.GetProperty("finished").GetInt32();
        var counts = batch.GetProperty("counts");
        var eta = batch.GetProperty("etaSeconds").ValueKind == JsonValueKind.Number ? $"{batch.GetProperty("etaSeconds").GetDouble():F0}s" : "unknown";
        return string.Create(CultureInfo.InvariantCulture,
            $"batch {batch.GetProperty("batchId").GetGuid()} {batch.GetProperty("state").GetString()}: finished {finished}/{total}, " +
            $"succeeded {counts.GetProperty(PipelineState.Job.Succeeded).GetInt32()}, failed {counts.GetProperty(PipelineState.Job.Failed).GetInt32()}, " +
            $"skipped {counts.GetProperty(PipelineState.Job.Skipped).GetInt32()}, cancelled {counts.GetProperty(PipelineState.Job.Cancelled).GetInt32()}, " +
            $"running {counts.GetProperty(PipelineState.Job.Running).GetInt32()}, {batch.GetProperty("jobsPerSecond").GetDouble():F1} jobs/s, ETA {eta}");
    }

    /// <summary>
    /// Polls the batch until it has an end time. On a terminal (<paramref name="live"/>) one bar is redrawn in place;
    /// otherwise a plain line is written whenever the numbers change, and once at the end.
    /// </summary>
    public static async Task WatchAsync(ApiClient client, Guid batchId, TextWriter output, bool live, CancellationToken ct)
    {
        string? last = null;
        while (true)
        {
            var batch = await client.GetBatchAsync(batchId, ct);
            var done = batch.GetProperty("completedAt").ValueKind != JsonValueKind.Null;
            var state = batch.GetProperty("state").GetString() + " " + batch.GetProperty("counts").GetRawText() + done;
            if (live) output.Write("\r" + ProgressLine(batch) + "   ");
            else if (state != last) output.WriteLine(PlainProgressLine(batch));
            last = state;
            if (done) break;
            await Task.Delay(500, ct);
        }
        if (live) output.WriteLine();
    }

    public static void WriteTable(TextWriter output, IReadOnlyList<string> headers, IReadOnlyList<string[]> rows, int maxWidth = 60)
    {
        string Cell(string s) => s.Length > maxWidth ? s[..(maxWidth - 1)] + "…" : s;
        var widths = headers.Select((h, i) => Math.Max(h.Length, rows.Select(r => Cell(r[i]).Length).DefaultIfEmpty(0).Max())).ToArray();
        output.WriteLine(string.Join(" | ", headers.Select((h, i) => h.PadRight(widths[i]))));
        output.WriteLine(string.Join("-+-", widths.Select(w => new string('-', w))));
        foreach (var row in rows) output.WriteLine(string.Join(" | ", row.Select((c, i) => Cell(c.ReplaceLineEndings(" ")).PadRight(widths[i]))));
    }
}
