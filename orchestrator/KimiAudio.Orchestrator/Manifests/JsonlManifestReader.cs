using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;

namespace KimiAudio.Orchestrator.Manifests;

/// <summary>JSON Lines (NeMo and Lhotse manifests): one object per line; blank lines are not rows.</summary>
public sealed class JsonlManifestReader : IManifestFormatReader
{
    public async IAsyncEnumerable<ManifestRecord> ReadAsync(Stream stream, long fromRow, [EnumeratorCancellation] CancellationToken ct)
    {
        using var reader = new StreamReader(stream, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        long line = 0, row = 0;
        while (await reader.ReadLineAsync(ct) is { } text)
        {
            line++;
            if (string.IsNullOrWhiteSpace(text)) continue;
            row++;
            if (row < fromRow) continue; // skipped rows are not parsed
            yield return Parse(text, row, line);
        }
    }

    private static ManifestRecord Parse(string text, long row, long line)
    {
        try
        {
            using var doc = JsonDocument.Parse(text);
            if (doc.RootElement.ValueKind != JsonValueKind.Object) return new ManifestRecord(row, line, [], "expected a JSON object");
            var fields = new List<KeyValuePair<string, ManifestValue>>();
            foreach (var p in doc.RootElement.EnumerateObject()) fields.Add(new(p.Name, ManifestValue.FromJson(p.Value)));
            return new ManifestRecord(row, line, fields);
        }
        catch (JsonException ex)
        {
            return new ManifestRecord(row, line, [], $"not JSON: {ex.Message}");
        }
    }
}
