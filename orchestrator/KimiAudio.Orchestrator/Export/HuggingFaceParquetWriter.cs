using System.Globalization;
using System.Text.Json;
using KimiAudio.Orchestrator.Jobs;
using Parquet;
using Parquet.Schema;

namespace KimiAudio.Orchestrator.Export;

/// <summary>
/// A Hugging Face datasets-style Parquet table (what <c>load_dataset("parquet")</c> and pyarrow read): one row per file
/// with <c>audio</c> (the s3:// URI; <c>cast_column("audio", Audio())</c> makes it the Audio feature), <c>text</c> (the
/// model's transcript), <c>duration</c>, <c>offset</c>, <c>reference_text</c>, <c>wer</c>, <c>cer</c>, <c>job_id</c>,
/// <c>state</c>, <c>error</c>, and then one typed column per metadata key of the manifest rows (<paramref name="metadata"/>:
/// numbers as double, booleans as bool, anything else as a string; a key named like a fixed column gets a "meta_"
/// prefix). Rows go out in row groups of <paramref name="rowGroupSize"/>; <paramref name="fileMetadata"/> lands in the footer.
/// </summary>
public sealed class HuggingFaceParquetWriter(int rowGroupSize, IReadOnlyList<MetadataColumn> metadata, IReadOnlyDictionary<string, string>? fileMetadata = null) : IExportWriter
{
    public const string Format = "hf";
    public static readonly DataField<string> Audio = new("audio", nullable: false);
    public static readonly DataField<string> Text = new("text");
    public static readonly DataField<double?> Duration = new("duration");
    public static readonly DataField<double?> Offset = new("offset");
    public static readonly DataField<string> ReferenceText = new("reference_text");
    public static readonly DataField<double?> Wer = new("wer");
    public static readonly DataField<double?> Cer = new("cer");
    public static readonly DataField<string> JobId = new("job_id", nullable: false);
    public static readonly DataField<string> State = new("state", nullable: false);
    public static readonly DataField<string> Error = new("error");
    private static readonly DataField[] Fixed = [Audio, Text, Duration, Offset, ReferenceText, Wer, Cer, JobId, State, Error];

    public string ContentType => "application/vnd.apache.parquet";
    public string Extension => "hf.parquet";

    /// <summary>The Parquet column name of a metadata key.</summary>
    public static string ColumnName(string key) => Fixed.Any(f => f.Name == key) ? "meta_" + key : key;

    public async Task WriteAsync(IAsyncEnumerable<JobResultRow> rows, Stream output, CancellationToken ct)
    {
        var fields = metadata.Select(m => m.Type switch
        {
            MetadataType.Number => (DataField)new DataField<double?>(ColumnName(m.Key)),
            MetadataType.Boolean => new DataField<bool?>(ColumnName(m.Key)),
            _ => new DataField<string>(ColumnName(m.Key)),
        }).ToList();
        var schema = new ParquetSchema([.. Fixed, .. fields]);
        await using var counting = new PositionCountingStream(output);
        await using var writer = await ParquetWriter.CreateAsync(schema, counting, cancellationToken: ct);
        if (fileMetadata is not null) writer.CustomMetadata = fileMetadata.ToDictionary();
        var group = new List<JobResultRow>(rowGroupSize);
        await foreach (var row in rows.WithCancellation(ct))
        {
            group.Add(row);
            if (group.Count < rowGroupSize) continue;
            await WriteGroupAsync(writer, fields, group, ct);
            await counting.FlushAsync(ct);
            group.Clear();
        }
        if (group.Count > 0) await WriteGroupAsync(writer, fields, group, ct);
    }

    private async Task WriteGroupAsync(ParquetWriter writer, List<DataField> fields, List<JobResultRow> g, CancellationToken ct)
    {
        using var rg = writer.CreateRowGroup();
        await rg.WriteAsync(Audio, g.Select(r => r.Input).ToArray());
        await rg.WriteAsync(Text, g.Select(r => r.HasResult ? r.Text : null).ToArray());
        await rg.WriteAsync<double>(Duration, g.Select(r => r.AudioSeconds ?? r.DurationSeconds).ToArray(), cancellationToken: ct);
        await rg.WriteAsync<double>(Offset, g.Select(r => r.OffsetSeconds).ToArray(), cancellationToken: ct);
        await rg.WriteAsync(ReferenceText, g.Select(r => r.ReferenceText).ToArray());
        await rg.WriteAsync<double>(Wer, g.Select(r => r.Wer).ToArray(), cancellationToken: ct);
        await rg.WriteAsync<double>(Cer, g.Select(r => r.Cer).ToArray(), cancellationToken: ct);
        await rg.WriteAsync(JobId, g.Select(r => r.JobId.ToString()).ToArray());
        await rg.WriteAsync(State, g.Select(r => r.State).ToArray());
        await rg.WriteAsync(Error, g.Select(r => r.Error).ToArray());
        var values = g.Select(r => r.MetadataJson is null ? null : JsonDocument.Parse(r.MetadataJson)).ToList();
        try
        {
            for (var c = 0; c < metadata.Count; c++)
            {
                var key = metadata[c].Key;
                var cells = values.Select(d => d is not null && d.RootElement.TryGetProperty(key, out var v) && v.ValueKind != JsonValueKind.Null ? v : (JsonElement?)null).ToList();
                switch (fields[c])
                {
                    case DataField<double?> f: await rg.WriteAsync<double>(f, cells.Select(v => v?.GetDouble()).ToArray(), cancellationToken: ct); break;
                    case DataField<bool?> f: await rg.WriteAsync<bool>(f, cells.Select(v => v?.GetBoolean()).ToArray(), cancellationToken: ct); break;
                    case DataField<string> f: await rg.WriteAsync(f, cells.Select(v => v is not { } e ? null : e.ValueKind == JsonValueKind.String ? e.GetString() : e.GetRawText()).ToArray()); break;
                }
            }
        }
        finally
        {
            foreach (var d in values) d?.Dispose();
        }
    }
}

public enum MetadataType { String, Number, Boolean }

/// <summary>A metadata key of a batch's manifest rows and the one Parquet type its values share.</summary>
public sealed record MetadataColumn(string Key, MetadataType Type)
{
    /// <summary>The type of a key from the JSON types its values have (jsonb_typeof; nulls do not count).</summary>
    public static MetadataColumn FromJsonTypes(string key, IReadOnlyCollection<string> types)
    {
        var present = types.Where(t => t != "null").Distinct().ToList();
        return new MetadataColumn(key, present switch
        {
            ["number"] => MetadataType.Number,
            ["boolean"] => MetadataType.Boolean,
            _ => MetadataType.String,
        });
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Key}:{Type}");
}
