using System.Buffers;
using System.Text.Json;
using KimiAudio.Orchestrator.Jobs;

namespace KimiAudio.Orchestrator.Export;

/// <summary>
/// A NeMo manifest (JSON Lines) of the files that have a result: <c>audio_filepath</c> (s3:// URI), <c>duration</c> (the
/// seconds annotated: the region's with an offset), <c>offset</c> for a region of a longer file, <c>text</c> (the
/// model's transcript: the annotation), then every metadata column of the manifest row at the top level, as NeMo keeps
/// extra keys; a scored row adds <c>reference_text</c>, <c>wer</c> and <c>cer</c>. Failed files are left out (NeMo would
/// train on an empty transcript).
/// </summary>
public sealed class NemoManifestWriter : IExportWriter
{
    public const string Format = "nemo";
    private static readonly HashSet<string> OwnKeys = ["audio_filepath", "duration", "offset", "text", "reference_text", "wer", "cer"];

    public string ContentType => "application/x-ndjson";
    public string Extension => "nemo.jsonl";

    public async Task WriteAsync(IAsyncEnumerable<JobResultRow> rows, Stream output, CancellationToken ct)
    {
        var buffer = new ArrayBufferWriter<byte>(JsonlExportWriter.FlushBytes * 2);
        await using var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { SkipValidation = true });
        await foreach (var r in rows.WithCancellation(ct))
        {
            if (!r.HasResult) continue;
            json.WriteStartObject();
            json.WriteString("audio_filepath", r.Input);
            json.WriteNumber("duration", r.AudioSeconds ?? r.DurationSeconds ?? 0);
            if (r.OffsetSeconds is { } offset) json.WriteNumber("offset", offset);
            json.WriteString("text", r.Text);
            WriteMetadata(json, r.MetadataJson, OwnKeys);
            if (r.Wer is not null)
            {
                json.WriteString("reference_text", r.ReferenceText);
                JsonlExportWriter.WriteNumber(json, "wer", r.Wer);
                JsonlExportWriter.WriteNumber(json, "cer", r.Cer);
            }
            json.WriteEndObject();
            await JsonlExportWriter.EndLineAsync(json, buffer, output, ct);
        }
        await JsonlExportWriter.DrainAsync(buffer, output, ct);
    }

    /// <summary>The metadata object's members as properties of the object being written (a member named like one of <paramref name="taken"/> gets a "meta_" prefix).</summary>
    internal static void WriteMetadata(Utf8JsonWriter json, string? metadataJson, IReadOnlySet<string> taken)
    {
        if (metadataJson is null) return;
        using var doc = JsonDocument.Parse(metadataJson);
        foreach (var p in doc.RootElement.EnumerateObject())
        {
            json.WritePropertyName(taken.Contains(p.Name) ? "meta_" + p.Name : p.Name);
            p.Value.WriteTo(json);
        }
    }
}
