using System.Globalization;
using System.Runtime.CompilerServices;
using KimiAudio.Orchestrator.Batches;
using Parquet;
using Parquet.Schema;

namespace KimiAudio.Orchestrator.Manifests;

/// <summary>
/// Parquet (e.g. a Hugging Face datasets split) read with Parquet.Net. Parquet keeps its index at the end, so the object is
/// first copied to a temporary file (deleted on close); then one row group is in memory at a time, and row groups before
/// the first wanted row are skipped without being read. Top-level columns of plain types are fields; a struct column
/// <c>audio</c> (the datasets Audio feature: bytes + path) gives its <c>path</c>, and its bytes are never read. Other
/// nested columns (lists, maps, structs) are left out.
/// </summary>
public sealed class ParquetManifestReader : IManifestFormatReader
{
    public async IAsyncEnumerable<ManifestRecord> ReadAsync(Stream stream, long fromRow, [EnumeratorCancellation] CancellationToken ct)
    {
        var path = Path.Combine(Path.GetTempPath(), $"kimia-manifest-{Guid.NewGuid():N}.parquet");
        await using var file = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 16,
            FileOptions.Asynchronous | FileOptions.DeleteOnClose);
        await stream.CopyToAsync(file, ct);
        file.Position = 0;
        ParquetReader reader;
        try
        {
            reader = await ParquetReader.CreateAsync(file, leaveStreamOpen: true, cancellationToken: ct);
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or NotSupportedException or ArgumentException)
        {
            throw new ManifestFormatException(1, $"not a Parquet file: {ex.Message}");
        }
        await using var _ = reader;
        var columns = Columns(reader.Schema);
        long first = 1;
        for (var g = 0; g < reader.RowGroupCount; g++)
        {
            using var group = reader.OpenRowGroupReader(g);
            var count = group.RowCount;
            if (first + count <= fromRow) { first += count; continue; } // wholly before the cursor: not read
            var values = new List<ManifestValue[]>(columns.Count);
            foreach (var (_, field) in columns) values.Add(await ReadColumnAsync(group, field, (int)count, ct));
            for (var i = 0; i < count; i++)
            {
                var row = first + i;
                if (row < fromRow) continue;
                var fields = new List<KeyValuePair<string, ManifestValue>>(columns.Count);
                for (var c = 0; c < columns.Count; c++)
                    if (!values[c][i].IsNull) fields.Add(new(columns[c].Name, values[c][i]));
                yield return new ManifestRecord(row, row, fields);
            }
            first += count;
        }
    }

    /// <summary>Top-level plain columns by name, and audio.path for a struct audio column.</summary>
    private static List<(string Name, DataField Field)> Columns(ParquetSchema schema)
    {
        var columns = new List<(string, DataField)>();
        foreach (var f in schema.Fields)
        {
            if (f is DataField { MaxRepetitionLevel: 0 } d && IsSupported(d.ClrType)) columns.Add((d.Name, d));
            else if (f is StructField s && s.Name.Equals("audio", StringComparison.OrdinalIgnoreCase)
                     && s.Fields.OfType<DataField>().FirstOrDefault(c => c.Name == "path" && IsString(c.ClrType)) is { } p)
                columns.Add((s.Name, p));
        }
        return columns;
    }

    /// <summary>Parquet.Net 6 gives string columns the type ReadOnlyMemory&lt;char&gt; (read as strings all the same).</summary>
    private static bool IsString(Type t) => t == typeof(string) || t == typeof(ReadOnlyMemory<char>);

    private static bool IsSupported(Type t) => IsString(t) || t == typeof(bool) || t == typeof(int) || t == typeof(long)
        || t == typeof(short) || t == typeof(float) || t == typeof(double) || t == typeof(decimal) || t == typeof(DateTime);

    private static async Task<ManifestValue[]> ReadColumnAsync(ParquetRowGroupReader group, DataField field, int count, CancellationToken ct)
    {
        var t = field.ClrType;
        if (IsString(t))
        {
            var s = new string?[count];
            await group.ReadAsync(field, s.AsMemory(), cancellationToken: ct);
            return [.. s.Select(v => v is null ? ManifestValue.Null : ManifestValue.String(v))];
        }
        if (t == typeof(bool)) return [.. (await ReadAsync<bool>(group, field, count, ct)).Select(v => v is { } b ? ManifestValue.Boolean(b) : ManifestValue.Null)];
        if (t == typeof(int)) return Numbers(await ReadAsync<int>(group, field, count, ct), v => v);
        if (t == typeof(long)) return Numbers(await ReadAsync<long>(group, field, count, ct), v => v);
        if (t == typeof(short)) return Numbers(await ReadAsync<short>(group, field, count, ct), v => v);
        if (t == typeof(float)) return Numbers(await ReadAsync<float>(group, field, count, ct), v => v);
        if (t == typeof(double)) return Numbers(await ReadAsync<double>(group, field, count, ct), v => v);
        if (t == typeof(decimal)) return Numbers(await ReadAsync<decimal>(group, field, count, ct), v => (double)v);
        return [.. (await ReadAsync<DateTime>(group, field, count, ct))
            .Select(v => v is { } d ? ManifestValue.String(d.ToString("O", CultureInfo.InvariantCulture)) : ManifestValue.Null)];
    }

    private static async Task<T?[]> ReadAsync<T>(ParquetRowGroupReader group, DataField field, int count, CancellationToken ct) where T : struct
    {
        if (!field.IsNullable)
        {
            var required = new T[count];
            await group.ReadAsync<T>(field, required.AsMemory(), cancellationToken: ct);
            return [.. required.Select(v => (T?)v)];
        }
        var values = new T?[count];
        await group.ReadAsync<T>(field, values.AsMemory(), cancellationToken: ct);
        return values;
    }

    private static ManifestValue[] Numbers<T>(T?[] values, Func<T, double> toDouble) where T : struct, IFormattable
        => [.. values.Select(v => v is { } n ? ManifestValue.Numeric(toDouble(n), n.ToString(null, CultureInfo.InvariantCulture)) : ManifestValue.Null)];
}
