using System.Runtime.CompilerServices;
using KimiAudio.Infrastructure.Storage;

namespace KimiAudio.Orchestrator.Manifests;

/// <summary>
/// Streams the rows of a manifest object, interpreted by <see cref="ManifestColumns"/>, from a given row on. The format
/// follows the object's name: .jsonl or .json (JSON Lines, as NeMo names its manifests), .csv, .parquet.
/// </summary>
public static class ManifestReader
{
    public static readonly string[] Extensions = [".jsonl", ".json", ".csv", ".parquet"];

    public static bool IsManifestKey(string key) => Extensions.Any(e => key.EndsWith(e, StringComparison.OrdinalIgnoreCase));

    public static IManifestFormatReader FormatFor(string key)
        => key.EndsWith(".csv", StringComparison.OrdinalIgnoreCase) ? new CsvManifestReader()
            : key.EndsWith(".parquet", StringComparison.OrdinalIgnoreCase) ? new ParquetManifestReader()
            : new JsonlManifestReader();

    /// <param name="fromRow">First data row to return (1 = all): <see cref="ManifestItem.Row"/> of the last row done + 1 resumes.</param>
    public static async IAsyncEnumerable<ManifestItem> ReadAsync(IObjectStore store, S3Uri manifest, long fromRow, [EnumeratorCancellation] CancellationToken ct)
    {
        await using var stream = await store.OpenReadAsync(manifest.Bucket, manifest.Key, ct);
        await foreach (var record in FormatFor(manifest.Key).ReadAsync(stream, fromRow, ct))
            yield return ManifestColumns.Map(manifest, record);
    }
}
