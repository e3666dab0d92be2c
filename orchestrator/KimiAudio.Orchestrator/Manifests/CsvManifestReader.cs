using System.Runtime.CompilerServices;
using System.Text;
using KimiAudio.Orchestrator.Batches;
using nietras.SeparatedValues;

namespace KimiAudio.Orchestrator.Manifests;

/// <summary>
/// CSV per RFC 4180 read with Sep (quoted fields may hold separators, doubled quotes and line breaks; a UTF-8 BOM is
/// dropped). A first row that names one of the audio columns (<see cref="ManifestColumns.Audio"/>) is the header;
/// otherwise the file is the older header-less <c>key[,prompt]</c> list (a first row of more cells is a header without
/// an audio column: the whole file is refused). A row with a different number of cells than the
/// header is malformed on its own. Every cell is a string; an empty cell is absent.
/// </summary>
public sealed class CsvManifestReader : IManifestFormatReader
{
    private static readonly string[] LegacyColumns = ["key", "prompt"];

    public async IAsyncEnumerable<ManifestRecord> ReadAsync(Stream stream, long fromRow, [EnumeratorCancellation] CancellationToken ct)
    {
        using var text = new StreamReader(stream, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        using var reader = await Sep.Reader(o => o with { HasHeader = false, Unescape = true, DisableColCountCheck = true }).FromAsync(text, ct);
        string[]? header = null;
        long row = 0;
        while (await reader.MoveNextAsync(ct))
        {
            var record = Read(reader.Current, ref header, ref row, fromRow);
            if (record is not null) yield return record;
        }
    }

    /// <summary>The record of one CSV row, or null for the header, a blank line or a row before <paramref name="fromRow"/>.</summary>
    private static ManifestRecord? Read(SepReader.Row r, ref string[]? header, ref long row, long fromRow)
    {
        // the first row starts on line 1 (Sep counts its first row's start one line on)
        var line = header is null ? 1 : r.LineNumberFrom;
        if (header is null)
        {
            var first = Cells(r);
            if (first.Any(c => ManifestColumns.Audio.Contains(c.Trim(), StringComparer.OrdinalIgnoreCase)))
            {
                header = [.. first.Select(c => c.Trim())];
                return null;
            }
            if (first.Length > LegacyColumns.Length)
                throw new ManifestFormatException(line, $"the header row names no audio column (one of {string.Join(", ", ManifestColumns.Audio)})");
            header = LegacyColumns;
        }
        if (r.ColCount == 1 && r[0].Span.IsWhiteSpace()) return null; // a blank line is not a row
        row++;
        if (row < fromRow) return null;
        if (header == LegacyColumns && r.ColCount > LegacyColumns.Length)
            return new ManifestRecord(row, line, [], $"expected key[,prompt] (a header row names the columns), found {r.ColCount} cells");
        if (header != LegacyColumns && r.ColCount != header.Length)
            return new ManifestRecord(row, line, [], $"{r.ColCount} cells where the header has {header.Length}");
        var fields = new List<KeyValuePair<string, ManifestValue>>(r.ColCount);
        for (var i = 0; i < r.ColCount; i++)
        {
            var cell = r[i].ToString();
            if (cell.Length > 0) fields.Add(new(header[i], ManifestValue.String(cell)));
        }
        return new ManifestRecord(row, line, fields);
    }

    private static string[] Cells(SepReader.Row r)
    {
        var cells = new string[r.ColCount];
        for (var i = 0; i < cells.Length; i++) cells[i] = r[i].ToString();
        return cells;
    }
}
