using System.Text;
using KimiAudio.Orchestrator.Export;
using KimiAudio.Orchestrator.Jobs;

namespace KimiAudio.Pipeline.Tests;

/// <summary>The CSV writer on its own: cells that a spreadsheet would run as formulas are written as text.</summary>
public sealed class CsvExportWriterTests
{
    private static async Task<string> WriteAsync(params JobResultRow[] rows)
    {
        using var output = new MemoryStream();
        await new CsvExportWriter().WriteAsync(Stream(rows), output, CancellationToken.None);
        return Encoding.UTF8.GetString(output.ToArray());
    }

    private static async IAsyncEnumerable<JobResultRow> Stream(IEnumerable<JobResultRow> rows)
    {
        foreach (var row in rows)
        {
            await Task.Yield();
            yield return row;
        }
    }

    private static JobResultRow Row(string? text, string? error = null, string key = "in/a.wav") => new()
    {
        JobId = Guid.NewGuid(), BatchId = Guid.NewGuid(), Seq = 1, InputBucket = "bucket", InputKey = key, Task = "asr",
        State = text is null ? "failed" : "succeeded", HasResult = text is not null, Text = text, Error = error,
        TextTokenCount = text is null ? null : 3, AudioSeconds = 1.5,
    };

    [Theory]
    [InlineData("=HYPERLINK(\"http://evil.example\",\"click\")")]
    [InlineData("+1+cmd|' /C calc'!A0")]
    [InlineData("-2+3")]
    [InlineData("@SUM(1,2)")]
    [InlineData("\t=1+1")]
    public async Task A_result_text_that_starts_like_a_formula_is_written_as_text(string text)
    {
        var csv = await WriteAsync(Row(text));
        var record = csv.Split("\r\n")[1];
        Assert.DoesNotContain("," + text, record, StringComparison.Ordinal);
        Assert.DoesNotContain(",\"" + text, record, StringComparison.Ordinal);
        var quoted = text.Replace("\"", "\"\"", StringComparison.Ordinal);
        Assert.True(record.Contains(",'" + text + ",", StringComparison.Ordinal) || record.Contains(",\"'" + quoted + "\",", StringComparison.Ordinal),
            $"the cell should start with an apostrophe: {record}");
    }

    [Fact]
    public async Task An_error_that_starts_like_a_formula_is_written_as_text_and_plain_cells_are_unchanged()
    {
        var csv = await WriteAsync(Row(null, error: "=cmd"), Row("hello - world"));
        var lines = csv.Split("\r\n");
        Assert.Contains(",'=cmd,", lines[1], StringComparison.Ordinal);
        Assert.Contains(",hello - world,", lines[2], StringComparison.Ordinal);
        Assert.Contains(",1.5,", lines[2], StringComparison.Ordinal);
        Assert.StartsWith(string.Join(',', ExportFormat.Columns), lines[0], StringComparison.Ordinal);
    }
}
