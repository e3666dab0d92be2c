using KimiAudio.Orchestrator.Jobs;

namespace KimiAudio.Orchestrator.Export;

/// <summary>An export format: writes rows to a stream as they arrive from the database.</summary>
public interface IExportWriter
{
    string ContentType { get; }
    string Extension { get; }
    Task WriteAsync(IAsyncEnumerable<JobResultRow> rows, Stream output, CancellationToken ct);
}

public static class ExportFormat
{
    /// <summary>Our own shapes (jsonl, csv, parquet: the <see cref="Columns"/>), and the speech toolkits' (nemo, hf, lhotse).</summary>
    public static readonly string[] Names = ["jsonl", "csv", "parquet", NemoManifestWriter.Format, HuggingFaceParquetWriter.Format, LhotseSupervisionsWriter.Format];

    /// <summary>The export's columns, in order (CSV header, Parquet schema, JSONL property order).</summary>
    public static readonly string[] Columns =
    [
        "job_id", "batch_id", "seq", "input", "task", "state", "text", "text_token_count", "audio_token_count", "audio_seconds",
        "timings", "started_at", "finished_at", "error", "artifact", "model_id", "segments",
        "reference_text", "wer", "cer", "substitutions", "deletions", "insertions", "reference_words", "metadata",
    ];

    public static string ContentTypeOf(string name) => name == LhotseSupervisionsWriter.Format ? LhotseSupervisionsWriter.ContentType : Create(name, 1).ContentType;

    public static IExportWriter Create(string name, int parquetRowGroupSize) => name switch
    {
        "jsonl" => new JsonlExportWriter(),
        "csv" => new CsvExportWriter(),
        "parquet" => new ParquetExportWriter(parquetRowGroupSize),
        NemoManifestWriter.Format => new NemoManifestWriter(),
        HuggingFaceParquetWriter.Format => new HuggingFaceParquetWriter(parquetRowGroupSize, []),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "unknown export format"),
    };
}
