using System.Buffers;
using System.Text.Json;
using KimiAudio.Audio;
using KimiAudio.Orchestrator.Jobs;

namespace KimiAudio.Orchestrator.Export;

/// <summary>
/// Lhotse supervisions (JSON Lines, as <c>SupervisionSet.to_jsonl</c> writes them): one supervision per transcribed
/// segment of each file that has a result, with <c>id</c> (job id and segment index), <c>recording_id</c> (the input's
/// s3:// URI: one recording per file), <c>start</c> and <c>duration</c> in seconds within the recording (a manifest
/// region's offset added), <c>channel</c> 0, <c>text</c>, <c>language</c> when the manifest gave one, and <c>custom</c>
/// with the manifest row's metadata and the job id.
/// </summary>
public static class LhotseSupervisionsWriter
{
    public const string Format = "lhotse";
    public const string ContentType = "application/x-ndjson";
    public const string Extension = "supervisions.jsonl";

    public static async Task WriteAsync(IAsyncEnumerable<SegmentExportRow> segments, Stream output, CancellationToken ct)
    {
        var buffer = new ArrayBufferWriter<byte>(JsonlExportWriter.FlushBytes * 2);
        await using var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { SkipValidation = true });
        await foreach (var s in segments.WithCancellation(ct))
        {
            var offset = s.OffsetSeconds ?? 0;
            json.WriteStartObject();
            json.WriteString("id", $"{s.JobId}-{s.SegmentIndex}");
            json.WriteString("recording_id", $"s3://{s.InputBucket}/{s.InputKey}");
            json.WriteNumber("start", Math.Round(offset + (double)s.StartSample / AudioDecoder.ModelSampleRate, 6));
            json.WriteNumber("duration", Math.Round((double)(s.EndSample - s.StartSample) / AudioDecoder.ModelSampleRate, 6));
            json.WriteNumber("channel", 0);
            json.WriteString("text", s.Text.Trim());
            if (s.Language is { } language) json.WriteString("language", language);
            json.WriteStartObject("custom");
            json.WriteString("job_id", s.JobId);
            NemoManifestWriter.WriteMetadata(json, s.MetadataJson, new HashSet<string> { "job_id" });
            json.WriteEndObject();
            json.WriteEndObject();
            await JsonlExportWriter.EndLineAsync(json, buffer, output, ct);
        }
        await JsonlExportWriter.DrainAsync(buffer, output, ct);
    }
}

/// <summary>One transcribed segment of a file with a result, as the Lhotse export reads it.</summary>
public sealed record SegmentExportRow
{
    public Guid JobId { get; init; }
    public string InputBucket { get; init; } = "";
    public string InputKey { get; init; } = "";
    public double? OffsetSeconds { get; init; }
    public string? Language { get; init; }
    public string? MetadataJson { get; init; }
    public int SegmentIndex { get; init; }
    public int StartSample { get; init; }
    public int EndSample { get; init; }
    public string Text { get; init; } = "";
}
