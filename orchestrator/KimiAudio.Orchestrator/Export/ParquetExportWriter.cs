using KimiAudio.Orchestrator.Jobs;
using Parquet;
using Parquet.Schema;

namespace KimiAudio.Orchestrator.Export;

/// <summary>
/// Apache Parquet: rows are gathered into row groups of <paramref name="rowGroupSize"/> and each group is written as soon
/// as it is full, so memory holds one group at most; the footer follows the last group. Times are UTC timestamps.
/// </summary>
public sealed class ParquetExportWriter(int rowGroupSize) : IExportWriter
{
    public static readonly DataField<string> JobId = new("job_id", nullable: false);
    public static readonly DataField<string> BatchId = new("batch_id", nullable: false);
    public static readonly DataField<int> Seq = new("seq");
    public static readonly DataField<string> Input = new("input", nullable: false);
    public static readonly DataField<string> Task = new("task", nullable: false);
    public static readonly DataField<string> State = new("state", nullable: false);
    public static readonly DataField<string> Text = new("text");
    public static readonly DataField<int?> TextTokenCount = new("text_token_count");
    public static readonly DataField<int?> AudioTokenCount = new("audio_token_count");
    public static readonly DataField<double?> AudioSeconds = new("audio_seconds");
    public static readonly DataField<string> Timings = new("timings");
    public static readonly DataField<DateTime?> StartedAt = new("started_at");
    public static readonly DataField<DateTime?> FinishedAt = new("finished_at");
    public static readonly DataField<string> Error = new("error");
    public static readonly DataField<string> Artifact = new("artifact");
    public static readonly DataField<string> ModelId = new("model_id");
    /// <summary>The segments as JSON text: [{index, start, end, text}], times in seconds.</summary>
    public static readonly DataField<string> Segments = new("segments");
    public static readonly DataField<string> ReferenceText = new("reference_text");
    public static readonly DataField<double?> Wer = new("wer");
    public static readonly DataField<double?> Cer = new("cer");
    public static readonly DataField<int?> Substitutions = new("substitutions");
    public static readonly DataField<int?> Deletions = new("deletions");
    public static readonly DataField<int?> Insertions = new("insertions");
    public static readonly DataField<int?> ReferenceWords = new("reference_words");
    public static readonly DataField<string> Metadata = new("metadata");

    public static readonly ParquetSchema Schema = new(
        JobId, BatchId, Seq, Input, Task, State, Text, TextTokenCount, AudioTokenCount, AudioSeconds, Timings, StartedAt, FinishedAt, Error, Artifact, ModelId, Segments,
        ReferenceText, Wer, Cer, Substitutions, Deletions, Insertions, ReferenceWords, Metadata);

    public string ContentType => "application/vnd.apache.parquet";
    public string Extension => "parquet";

    public async System.Threading.Tasks.Task WriteAsync(IAsyncEnumerable<JobResultRow> rows, Stream output, CancellationToken ct)
    {
        // the writer asks the stream for its position (offsets in the footer); a response body cannot tell: count, and
        // send each row group on as soon as it is written
        await using var counting = new PositionCountingStream(output);
        await using var writer = await ParquetWriter.CreateAsync(Schema, counting, cancellationToken: ct);
        var group = new List<JobResultRow>(rowGroupSize);
        await foreach (var row in rows.WithCancellation(ct))
        {
            group.Add(row);
            if (group.Count < rowGroupSize) continue;
            await WriteGroupAsync(writer, group, ct);
            await counting.FlushAsync(ct);
            group.Clear();
        }
        if (group.Count > 0) await WriteGroupAsync(writer, group, ct);
    }

    private static async System.Threading.Tasks.Task WriteGroupAsync(ParquetWriter writer, List<JobResultRow> g, CancellationToken ct)
    {
        using var rg = writer.CreateRowGroup();
        await rg.WriteAsync(JobId, g.Select(r => r.JobId.ToString()).ToArray());
        await rg.WriteAsync(BatchId, g.Select(r => r.BatchId.ToString()).ToArray());
        await rg.WriteAsync<int>(Seq, g.Select(r => r.Seq).ToArray(), cancellationToken: ct);
        await rg.WriteAsync(Input, g.Select(r => r.Input).ToArray());
        await rg.WriteAsync(Task, g.Select(r => r.Task).ToArray());
        await rg.WriteAsync(State, g.Select(r => r.State).ToArray());
        await rg.WriteAsync(Text, g.Select(r => r.Text).ToArray());
        await rg.WriteAsync<int>(TextTokenCount, g.Select(r => r.TextTokenCount).ToArray(), cancellationToken: ct);
        await rg.WriteAsync<int>(AudioTokenCount, g.Select(r => r.AudioTokenCount).ToArray(), cancellationToken: ct);
        await rg.WriteAsync<double>(AudioSeconds, g.Select(r => r.AudioSeconds).ToArray(), cancellationToken: ct);
        await rg.WriteAsync(Timings, g.Select(r => r.TimingsJson).ToArray());
        await rg.WriteAsync<DateTime>(StartedAt, g.Select(r => r.StartedAt).ToArray(), cancellationToken: ct);
        await rg.WriteAsync<DateTime>(FinishedAt, g.Select(r => r.FinishedAt).ToArray(), cancellationToken: ct);
        await rg.WriteAsync(Error, g.Select(r => r.Error).ToArray());
        await rg.WriteAsync(Artifact, g.Select(r => r.Artifact).ToArray());
        await rg.WriteAsync(ModelId, g.Select(r => r.ModelId).ToArray());
        await rg.WriteAsync(Segments, g.Select(r => r.SegmentsJson).ToArray());
        await rg.WriteAsync(ReferenceText, g.Select(r => r.ReferenceText).ToArray());
        await rg.WriteAsync<double>(Wer, g.Select(r => r.Wer).ToArray(), cancellationToken: ct);
        await rg.WriteAsync<double>(Cer, g.Select(r => r.Cer).ToArray(), cancellationToken: ct);
        await rg.WriteAsync<int>(Substitutions, g.Select(r => r.WordSubstitutions).ToArray(), cancellationToken: ct);
        await rg.WriteAsync<int>(Deletions, g.Select(r => r.WordDeletions).ToArray(), cancellationToken: ct);
        await rg.WriteAsync<int>(Insertions, g.Select(r => r.WordInsertions).ToArray(), cancellationToken: ct);
        await rg.WriteAsync<int>(ReferenceWords, g.Select(r => r.ReferenceWords).ToArray(), cancellationToken: ct);
        await rg.WriteAsync(Metadata, g.Select(r => r.MetadataJson).ToArray());
    }
}
