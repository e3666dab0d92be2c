namespace KimiAudio.Orchestrator.Manifests;

/// <summary>
/// One data row of a manifest as its format reader gives it, before the columns are interpreted.
/// <see cref="Row"/> is the row's ordinal (1-based, a header not counted): readers can start at a given row, so it is
/// the cursor of a resumed submission. <see cref="Line"/> is the line the row starts on (JSONL/CSV; the row for Parquet).
/// A row the format itself could not read (not JSON, a ragged CSV row) has <see cref="Problem"/> and no fields.
/// </summary>
public sealed record ManifestRecord(long Row, long Line, IReadOnlyList<KeyValuePair<string, ManifestValue>> Fields, string? Problem = null);

/// <summary>Reads the rows of one manifest format from a stream, in constant memory, starting at a given row.</summary>
public interface IManifestFormatReader
{
    /// <param name="fromRow">First row to return (1 = all); earlier rows are skipped as cheaply as the format allows.</param>
    /// <exception cref="KimiAudio.Orchestrator.Batches.ManifestFormatException">The file as a whole cannot be read (bad Parquet, CSV header without an audio column).</exception>
    IAsyncEnumerable<ManifestRecord> ReadAsync(Stream stream, long fromRow, CancellationToken ct);
}
