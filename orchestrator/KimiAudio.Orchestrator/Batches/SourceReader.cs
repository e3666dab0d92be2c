using System.Runtime.CompilerServices;
using KimiAudio.Infrastructure.Storage;
using KimiAudio.Orchestrator.Manifests;
using Microsoft.Extensions.Options;

namespace KimiAudio.Orchestrator.Batches;

/// <summary>Streams the items of a batch source in constant memory: a listed prefix, or a manifest (JSONL, CSV, Parquet; see <see cref="ManifestColumns"/>).</summary>
public sealed class SourceReader(IObjectStore store, IOptions<S3Options> s3Options, IOptions<OrchestratorOptions> options)
{
    /// <param name="fromManifestRow">For a manifest: the first data row to read (1 = all; <see cref="ManifestItem.Row"/> + 1 resumes).</param>
    public IAsyncEnumerable<SourceItem> ReadAsync(ValidatedBatch batch, CancellationToken ct, long fromManifestRow = 1)
        => batch.IsManifest ? ReadManifestAsync(batch.Location, fromManifestRow, ct) : ListPrefixAsync(batch.Location, ct);

    private async IAsyncEnumerable<SourceItem> ListPrefixAsync(S3Uri location, [EnumeratorCancellation] CancellationToken ct)
    {
        var resultsPrefix = s3Options.Value.ResultsPrefix;
        await foreach (var o in store.ListAsync(location.Bucket, location.Key, ct))
        {
            // folder markers and our own generated speech are not inputs
            if (o.Key.EndsWith('/') || o.Key.StartsWith(resultsPrefix, StringComparison.Ordinal)) continue;
            yield return new SourceItem(o.Bucket, o.Key, o.ETag, o.Size, null);
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

    private async IAsyncEnumerable<SourceItem> ReadManifestAsync(S3Uri manifest, long fromRow, [EnumeratorCancellation] CancellationToken ct)
    {
        var page = new List<ManifestItem>(options.Value.PageSize);
        await foreach (var entry in ManifestReader.ReadAsync(store, manifest, fromRow, ct))
        {
            page.Add(entry);
            if (page.Count < options.Value.PageSize) continue;
            foreach (var item in await HeadAllAsync(page, ct)) yield return item;
            page.Clear();
        }
        foreach (var item in await HeadAllAsync(page, ct)) yield return item;
    }

    /// <summary>ETag and size of each row's object (a malformed row has none: it fails without a look at storage).</summary>
    private async Task<SourceItem[]> HeadAllAsync(List<ManifestItem> entries, CancellationToken ct)
    {
        var items = new SourceItem[entries.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, entries.Count),
            new ParallelOptions { MaxDegreeOfParallelism = options.Value.ManifestHeadParallelism, CancellationToken = ct },
            async (i, token) =>
            {
                var e = entries[i];
                var head = e.Error is null ? await store.HeadAsync(e.Bucket, e.Key, token) : null;
                items[i] = new SourceItem(e.Bucket, e.Key, head?.ETag, head?.Size, e.Prompt, e);
            });
        return items;
    }
}
