using System.Buffers;
using System.Text.Json;
using KimiAudio.Orchestrator.Jobs;

namespace KimiAudio.Orchestrator.Export;

/// <summary>
/// JSON Lines: one object per row; timings as a JSON object, segments as an array of {index, start, end, text} (seconds);
/// null where a value is absent.
/// </summary>
public sealed class JsonlExportWriter : IExportWriter
{
    internal const int FlushBytes = 64 * 1024;

    public string ContentType => "application/x-ndjson";
    public string Extension => "jsonl";

    public async Task WriteAsync(IAsyncEnumerable<JobResultRow> rows, Stream output, CancellationToken ct)
    {
        var buffer = new ArrayBufferWriter<byte>(FlushBytes * 2);
        await using var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { SkipValidation = true });
        await foreach (var r in rows.WithCancellation(ct))
        {
            json.WriteStartObject();
            json.WriteString("job_id", r.JobId);
            json.WriteString("batch_id", r.BatchId);
            json.WriteNumber("seq", r.Seq);
            json.WriteString("input", r.Input);
            json.WriteString("task", r.Task);
            json.WriteString("state", r.State);
            json.WriteString("text", r.Text);
            WriteNumber(json, "text_token_count", r.TextTokenCount);
            WriteNumber(json, "audio_token_count", r.AudioTokenCount);
            if (r.AudioSeconds is { } seconds) json.WriteNumber("audio_seconds", seconds); else json.WriteNull("audio_seconds");
            json.WritePropertyName("timings");
            if (r.TimingsJson is { } timings) json.WriteRawValue(timings, skipInputValidation: true); else json.WriteNullValue();
            WriteTime(json, "started_at", r.StartedAt);
            WriteTime(json, "finished_at", r.FinishedAt);
            json.WriteString("error", r.Error);
            json.WriteString("artifact", r.Artifact);
            json.WriteString("model_id", r.ModelId);
            json.WritePropertyName("segments");
            if (r.SegmentsJson is { } segments) json.WriteRawValue(segments, skipInputValidation: true); else json.WriteNullValue();
            json.WriteString("reference_text", r.ReferenceText);
            WriteNumber(json, "wer", r.Wer);
            WriteNumber(json, "cer", r.Cer);
            WriteNumber(json, "substitutions", r.WordSubstitutions);
            WriteNumber(json, "deletions", r.WordDeletions);
            WriteNumber(json, "insertions", r.WordInsertions);
            WriteNumber(json, "reference_words", r.ReferenceWords);
            json.WritePropertyName("metadata");
            if (r.MetadataJson is { } metadata) json.WriteRawValue(metadata, skipInputValidation: true); else json.WriteNullValue();
            json.WriteEndObject();
            await EndLineAsync(json, buffer, output, ct);
        }
        await DrainAsync(buffer, output, ct);
    }

    internal static void WriteNumber(Utf8JsonWriter json, string name, int? value)
    {
        if (value is { } v) json.WriteNumber(name, v); else json.WriteNull(name);
    }

    internal static void WriteNumber(Utf8JsonWriter json, string name, double? value)
    {
        if (value is { } v) json.WriteNumber(name, v); else json.WriteNull(name);
    }

    private static void WriteTime(Utf8JsonWriter json, string name, DateTime? value)
    {
        if (value is { } v) json.WriteString(name, v); else json.WriteNull(name);
    }

    /// <summary>Ends the object just written as one line; sends the buffer on once it holds <see cref="FlushBytes"/>.</summary>
    internal static async Task EndLineAsync(Utf8JsonWriter json, ArrayBufferWriter<byte> buffer, Stream output, CancellationToken ct)
    {
        json.Flush();
        buffer.Write("\n"u8);
        json.Reset(buffer);
        if (buffer.WrittenCount >= FlushBytes) await DrainAsync(buffer, output, ct);
    }

    internal static async Task DrainAsync(ArrayBufferWriter<byte> buffer, Stream output, CancellationToken ct)
    {
        await output.WriteAsync(buffer.WrittenMemory, ct);
        await output.FlushAsync(ct);
        buffer.ResetWrittenCount();
    }
}
