using System.Runtime.CompilerServices;
using KimiAudio.Infrastructure.Storage;
using KimiAudio.Orchestrator.Manifests;
using Microsoft.Extensions.Options;

namespace KimiAudio.Orchestrator.Batches;

/// <summary>
/// Streams the items of a batch source in constant memory: a listed prefix, or a manifest (JSONL, CSV, Parquet; see
/// <see cref="ManifestColumns"/>). Each item comes with its <see cref="SourceEntry.Cursor"/>: reading again with that
/// cursor yields exactly the items after it.
/// </summary>
public sealed class SourceReader(IObjectStore store, IOptions<S3Options> s3Options, IOptions<OrchestratorOptions> options)
{
    /// <param name="after">A cursor of an earlier read of the same source (null: from the start).</param>
    public IAsyncEnumerable<SourceEntry> ReadAsync(ValidatedBatch batch, string? after, CancellationToken ct)
        => batch.IsManifest ? ReadManifestAsync(batch.Location, ManifestCursor.Parse(after), ct) : ListPrefixAsync(batch.Location, after, ct);

    /// <summary>Prefix cursor: the last listed key (S3 StartAfter). Keys are listed in UTF-8 binary order, so it is a total order.</summary>
    private async IAsyncEnumerable<SourceEntry> ListPrefixAsync(S3Uri location, string? afterKey, [EnumeratorCancellation] CancellationToken ct)
    {
        var resultsPrefix = s3Options.Value.ResultsPrefix;
        await foreach (var o in store.ListAsync(location.Bucket, location.Key, ct, afterKey))
        {
            // folder markers and our own generated speech are not inputs
            if (o.Key.EndsWith('/') || o.Key.StartsWith(resultsPrefix, StringComparison.Ordinal)) continue;
            yield return new SourceEntry(new SourceItem(o.Bucket, o.Key, o.ETag, o.Size, null), o.Key);
        }
    }

    /// <summary>
    /// Reads the manifest up to its first row without side effects, so a file that cannot be read as a whole (missing,
    /// not Parquet, a CSV header without an audio column) is rejected before any job exists. A malformed row is not such
    /// a problem: it fails alone, as its own job.
    /// </summary>
    public async Task ValidateManifestAsync(S3Uri manifest, CancellationToken ct)
    {
        await foreach (var _ in ManifestReader.ReadAsync(store, manifest, 1, ct)) break;
    }

    /// <summary>Manifest cursor: the number of data rows consumed (<see cref="ManifestItem.Row"/> of the last; a header does not count).</summary>
    private async IAsyncEnumerable<SourceEntry> ReadManifestAsync(S3Uri manifest, long afterRow, [EnumeratorCancellation] CancellationToken ct)
    {
        var page = new List<ManifestItem>(options.Value.PageSize);
        // rows written before a restart are skipped by the format reader, not even HEADed again
        await foreach (var entry in ManifestReader.ReadAsync(store, manifest, afterRow + 1, ct))
        {
            page.Add(entry);
            if (page.Count < options.Value.PageSize) continue;
            foreach (var item in await HeadAllAsync(page, ct)) yield return item;
            page.Clear();
        }
        foreach (var item in await HeadAllAsync(page, ct)) yield return item;
    }

    /// <summary>ETag and size of each row's object (a malformed row has none: it fails without a look at storage).</summary>
    private async Task<SourceEntry[]> HeadAllAsync(List<ManifestItem> entries, CancellationToken ct)
    {
        var items = new SourceEntry[entries.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, entries.Count),
            new ParallelOptions { MaxDegreeOfParallelism = options.Value.ManifestHeadParallelism, CancellationToken = ct },
            async (i, token) =>
            {
                var e = entries[i];
                var head = e.Error is null ? await store.HeadAsync(e.Bucket, e.Key, token) : null;
                items[i] = new SourceEntry(new SourceItem(e.Bucket, e.Key, head?.ETag, head?.Size, e.Prompt, e), ManifestCursor.Format(e.Row));
            });
        return items;
    }
}
