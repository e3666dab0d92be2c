using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using KimiAudio.Infrastructure.Storage;
using Microsoft.Extensions.Options;

namespace KimiAudio.Orchestrator.Batches;

/// <summary>
/// Streams the items of a batch source in constant memory: a listed prefix, or a JSONL/CSV manifest of keys. Each item
/// comes with its <see cref="SourceEntry.Cursor"/>: reading again with that cursor yields exactly the items after it.
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

    /// <summary>Reads the whole manifest once without side effects, so a bad line is rejected before any job exists.</summary>
    public async Task ValidateManifestAsync(S3Uri manifest, CancellationToken ct)
    {
        await foreach (var _ in ParseManifestAsync(manifest, ct)) { }
    }

    /// <summary>Manifest cursor: the number of manifest entries consumed (entries, not lines: blank lines and a CSV header do not count).</summary>
    private async IAsyncEnumerable<SourceEntry> ReadManifestAsync(S3Uri manifest, long afterEntry, [EnumeratorCancellation] CancellationToken ct)
    {
        var page = new List<(string Bucket, string Key, string? Prompt)>(options.Value.PageSize);
        long entry = 0;
        await foreach (var e in ParseManifestAsync(manifest, ct))
        {
            if (++entry <= afterEntry) continue; // written before the restart: not even HEADed again
            page.Add(e);
            if (page.Count < options.Value.PageSize) continue;
            foreach (var item in await HeadAllAsync(page, entry, ct)) yield return item;
            page.Clear();
        }
        foreach (var item in await HeadAllAsync(page, entry, ct)) yield return item;
    }

    /// <param name="lastEntry">The entry number of the page's last entry.</param>
    private async Task<SourceEntry[]> HeadAllAsync(List<(string Bucket, string Key, string? Prompt)> entries, long lastEntry, CancellationToken ct)
    {
        var items = new SourceEntry[entries.Count];
        var firstEntry = lastEntry - entries.Count + 1;
        await Parallel.ForEachAsync(Enumerable.Range(0, entries.Count),
            new ParallelOptions { MaxDegreeOfParallelism = options.Value.ManifestHeadParallelism, CancellationToken = ct },
            async (i, token) =>
            {
                var (bucket, key, prompt) = entries[i];
                var head = await store.HeadAsync(bucket, key, token);
                items[i] = new SourceEntry(new SourceItem(bucket, key, head?.ETag, head?.Size, prompt), ManifestCursor.Format(firstEntry + i));
            });
        return items;
    }

    private async IAsyncEnumerable<(string Bucket, string Key, string? Prompt)> ParseManifestAsync(S3Uri manifest, [EnumeratorCancellation] CancellationToken ct)
    {
        var csv = manifest.Key.EndsWith(".csv", StringComparison.OrdinalIgnoreCase);
        await using var stream = await store.OpenReadAsync(manifest.Bucket, manifest.Key, ct);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        long lineNumber = 0;
        while (await reader.ReadLineAsync(ct) is { } line)
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            var (key, prompt) = csv ? ParseCsvLine(line, lineNumber) : ParseJsonLine(line, lineNumber);
            if (key is null) continue; // CSV header
            if (key.StartsWith("s3://", StringComparison.Ordinal))
            {
                if (!S3Uri.TryParse(key, out var uri) || uri.Key.Length == 0) throw new ManifestFormatException(lineNumber, $"'{key}' is not a valid s3://bucket/key");
                yield return (uri.Bucket, uri.Key, prompt);
            }
            else yield return (manifest.Bucket, key, prompt);
        }
    }

    private static (string? Key, string? Prompt) ParseJsonLine(string line, long lineNumber)
    {
        try
        {
            using var doc = JsonDocument.Parse(line);
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new ManifestFormatException(lineNumber, "expected a JSON object");
            var key = doc.RootElement.TryGetProperty("key", out var k) && k.ValueKind == JsonValueKind.String ? k.GetString() : null;
            if (string.IsNullOrWhiteSpace(key)) throw new ManifestFormatException(lineNumber, "missing string property \"key\"");
            var prompt = doc.RootElement.TryGetProperty("prompt", out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null;
            return (key, prompt);
        }
        catch (JsonException ex)
        {
            throw new ManifestFormatException(lineNumber, $"not JSON: {ex.Message}");
        }
    }

    /// <summary>key[,prompt] with RFC 4180 quoting; a first line whose first field is "key" is a header.</summary>
    private static (string? Key, string? Prompt) ParseCsvLine(string line, long lineNumber)
    {
        var fields = new List<string>();
        var field = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < line.Length && line[i + 1] == '"') { field.Append('"'); i++; }
                else if (c == '"') quoted = false;
                else field.Append(c);
            }
            else if (c == '"') quoted = true;
            else if (c == ',') { fields.Add(field.ToString()); field.Clear(); }
            else field.Append(c);
        }
        if (quoted) throw new ManifestFormatException(lineNumber, "unterminated quote");
        fields.Add(field.ToString());
        if (fields.Count > 2) throw new ManifestFormatException(lineNumber, "expected key[,prompt]");
        var key = fields[0].Trim();
        if (lineNumber == 1 && key.Equals("key", StringComparison.OrdinalIgnoreCase)) return (null, null);
        if (key.Length == 0) throw new ManifestFormatException(lineNumber, "empty key");
        return (key, fields.Count > 1 && fields[1].Length > 0 ? fields[1] : null);
    }
}
