using System.Globalization;
using System.Text;
using KimiAudio.Orchestrator.Jobs;

namespace KimiAudio.Orchestrator.Export;

/// <summary>
/// CSV per RFC 4180: a header row, CRLF line ends, a field quoted when it holds a comma, quote, CR or LF (quotes doubled).
/// Numbers use the invariant culture, times ISO 8601 UTC, timings and segments (start/end seconds, text) the JSON text; an
/// absent value is an empty field.
/// A field that a spreadsheet would run as a formula (it starts with = + - @, tab or CR: a transcript or an S3 key can)
/// gets a leading apostrophe, as OWASP advises against CSV injection; the exports' numbers are never negative.
/// </summary>
public sealed class CsvExportWriter : IExportWriter
{
    private const int FlushChars = 32 * 1024;

    public string ContentType => "text/csv; charset=utf-8";
    public string Extension => "csv";

    public async Task WriteAsync(IAsyncEnumerable<JobResultRow> rows, Stream output, CancellationToken ct)
    {
        var line = new StringBuilder(FlushChars * 2);
        AppendRow(line, ExportFormat.Columns);
        await foreach (var r in rows.WithCancellation(ct))
        {
            AppendRow(line, [
                r.JobId.ToString(), r.BatchId.ToString(), Number(r.Seq), r.Input, r.Task, r.State, r.Text, Number(r.TextTokenCount),
                Number(r.AudioTokenCount), Real(r.AudioSeconds), r.TimingsJson, Time(r.StartedAt),
                Time(r.FinishedAt), r.Error, r.Artifact, r.ModelId, r.SegmentsJson,
                r.ReferenceText, Real(r.Wer), Real(r.Cer), Number(r.WordSubstitutions), Number(r.WordDeletions), Number(r.WordInsertions),
                Number(r.ReferenceWords), r.MetadataJson,
            ]);
            if (line.Length >= FlushChars) await DrainAsync(line, output, ct);
        }
        await DrainAsync(line, output, ct);
    }

    /// <summary>One CSV record (with its CRLF).</summary>
    public static void AppendRow(StringBuilder line, IReadOnlyList<string?> fields)
    {
        for (var i = 0; i < fields.Count; i++)
        {
            if (i > 0) line.Append(',');
            var f = NeutraliseFormula(fields[i] ?? "");
            if (f.AsSpan().IndexOfAny(",\"\r\n") < 0) line.Append(f);
            else line.Append('"').Append(f.Replace("\"", "\"\"", StringComparison.Ordinal)).Append('"');
        }
        line.Append("\r\n");
    }

    /// <summary>'=1+1' becomes "'=1+1": the cell shows the text instead of running it.</summary>
    public static string NeutraliseFormula(string field) => field.Length > 0 && field[0] is '=' or '+' or '-' or '@' or '\t' or '\r' ? "'" + field : field;

    private static string? Number(int? n) => n?.ToString(CultureInfo.InvariantCulture);

    private static string? Real(double? d) => d?.ToString("R", CultureInfo.InvariantCulture);

    private static string? Time(DateTime? t) => t?.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);

    private static async Task DrainAsync(StringBuilder line, Stream output, CancellationToken ct)
    {
        await output.WriteAsync(Encoding.UTF8.GetBytes(line.ToString()), ct);
        await output.FlushAsync(ct);
        line.Clear();
    }
}
