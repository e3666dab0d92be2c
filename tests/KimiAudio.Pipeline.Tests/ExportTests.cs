using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using KimiAudio.Orchestrator.Export;
using KimiAudio.Pipeline.Tests.Support;
using Parquet;

namespace KimiAudio.Pipeline.Tests;

/// <summary>The streamed exports: JSONL, CSV (RFC 4180) and Parquet read back and compared with the database rows.</summary>
public sealed class ExportTests(OpsFixture f) : IClassFixture<OpsFixture>
{
    private TestPipeline P => f.P;

    /// <summary>The expected rows, straight from the tables (not through the orchestrator's query), in batch order.</summary>
    private sealed record Expected
    {
        public Guid JobId { get; init; }
        public string Input { get; init; } = "";
        public string State { get; init; } = "";
        public string? Text { get; init; }
        public int? TextTokenCount { get; init; }
        public int? AudioTokenCount { get; init; }
        public double? AudioSeconds { get; init; }
        public string? Error { get; init; }
        public string? Artifact { get; init; }
        public DateTime? FinishedAt { get; init; }
    }

    private Task<List<Expected>> ExpectedAsync(Guid batchId) => P.QueryAsync<Expected>("""
        SELECT j.job_id AS JobId, 's3://' || j.input_bucket || '/' || j.input_key AS Input, j.state AS State, r.text AS Text,
               cardinality(r.text_tokens) AS TextTokenCount, cardinality(r.audio_tokens) AS AudioTokenCount,
               coalesce(r.audio_seconds, j.audio_seconds) AS AudioSeconds, j.error AS Error,
               's3://' || r.artifact_bucket || '/' || r.artifact_key AS Artifact, j.finished_at AS FinishedAt
          FROM jobs j LEFT JOIN results r ON r.job_id = j.job_id
         WHERE j.batch_id = @batchId ORDER BY j.seq
        """, new { batchId });

    private async Task<HttpResponseMessage> ExportAsync(string format)
    {
        var response = await P.Api.GetAsync($"/batches/{f.AsrBatch}/export?format={format}", HttpCompletionOption.ResponseHeadersRead);
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return response;
    }

    [Fact]
    public async Task Jsonl_has_one_object_per_file_equal_to_the_database_rows()
    {
        var expected = await ExpectedAsync(f.AsrBatch);
        using var response = await ExportAsync("jsonl");
        Assert.Equal("application/x-ndjson", response.Content.Headers.ContentType?.MediaType);
        var lines = (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(expected.Count, lines.Length);
        for (var i = 0; i < lines.Length; i++)
        {
            var row = JsonDocument.Parse(lines[i]).RootElement;
            var e = expected[i];
            Assert.Equal(ExportFormat.Columns, row.EnumerateObject().Select(p => p.Name));
            Assert.Equal(e.JobId, row.GetProperty("job_id").GetGuid());
            Assert.Equal(e.Input, row.GetProperty("input").GetString());
            Assert.Equal(e.State, row.GetProperty("state").GetString());
            Assert.Equal(e.Text, row.GetProperty("text").GetString());
            Assert.Equal(e.TextTokenCount, NullableInt(row.GetProperty("text_token_count")));
            Assert.Equal(e.AudioTokenCount, NullableInt(row.GetProperty("audio_token_count")));
            Assert.Equal(e.Error, row.GetProperty("error").GetString());
            Assert.Equal(e.Artifact, row.GetProperty("artifact").GetString());
            if (e.State == "succeeded")
            {
                Assert.Equal(e.AudioSeconds!.Value, row.GetProperty("audio_seconds").GetDouble(), 9);
                Assert.Equal(JsonValueKind.Object, row.GetProperty("timings").ValueKind);
            }
        }
        Assert.Equal(5, expected.Count(e => e.State == "succeeded"));
    }

    [Fact]
    public async Task Csv_is_rfc4180_quoted_and_round_trips()
    {
        var expected = await ExpectedAsync(f.AsrBatch);
        using var response = await ExportAsync("csv");
        Assert.Equal("text/csv", response.Content.Headers.ContentType?.MediaType);
        var text = await response.Content.ReadAsStringAsync();
        Assert.Contains("\"s3://" + P.Bucket + "/asr/broken, \"\"quoted\"\".wav\"", text); // comma and quotes: quoted, quotes doubled
        var records = ParseCsv(text);
        Assert.Equal(ExportFormat.Columns, records[0]);
        Assert.Equal(expected.Count, records.Count - 1);
        for (var i = 0; i < expected.Count; i++)
        {
            var r = records[i + 1];
            var e = expected[i];
            string Col(string name) => r[Array.IndexOf(ExportFormat.Columns, name)];
            Assert.Equal(e.JobId.ToString(), Col("job_id"));
            Assert.Equal(e.Input, Col("input"));
            Assert.Equal(e.State, Col("state"));
            Assert.Equal(e.Text ?? "", Col("text"));
            Assert.Equal(e.Error ?? "", Col("error"));
            Assert.Equal(e.Artifact ?? "", Col("artifact"));
            Assert.Equal(e.AudioTokenCount?.ToString(CultureInfo.InvariantCulture) ?? "", Col("audio_token_count"));
            if (e.State == "succeeded")
            {
                Assert.Equal(e.AudioSeconds!.Value, double.Parse(Col("audio_seconds"), CultureInfo.InvariantCulture), 9);
                Assert.Equal(JsonValueKind.Object, JsonDocument.Parse(Col("timings")).RootElement.ValueKind);
                Assert.Equal(e.FinishedAt!.Value, DateTime.Parse(Col("finished_at"), CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal), TimeSpan.FromTicks(10));
            }
        }
    }

    [Fact]
    public async Task Parquet_is_written_in_row_groups_and_reads_back_equal_to_the_database_rows()
    {
        // a second orchestrator with row groups of 2 rows: 6 files make 3 groups
        await P.StartOrchestratorAsync(new Dictionary<string, string?> { ["Orchestrator:ExportRowGroupSize"] = "2" });
        var expected = await ExpectedAsync(f.AsrBatch);
        using var response = await ExportAsync("parquet");
        Assert.Equal("application/vnd.apache.parquet", response.Content.Headers.ContentType?.MediaType);
        using var file = new MemoryStream(await response.Content.ReadAsByteArrayAsync());
        await using var reader = await ParquetReader.CreateAsync(file);
        Assert.Equal(3, reader.RowGroupCount);
        Assert.Equal(ExportFormat.Columns, reader.Schema.DataFields.Select(d => d.Name));
        var rows = new List<(string? Job, string? Input, string? State, string? Text, int? Audio, double? Seconds, string? Error, string? Artifact, DateTime? Finished)>();
        for (var g = 0; g < reader.RowGroupCount; g++)
        {
            using var group = reader.OpenRowGroupReader(g);
            var n = (int)group.RowCount;
            Assert.Equal(2, n);
            var job = new string?[n]; var input = new string?[n]; var state = new string?[n]; var text = new string?[n]; var error = new string?[n]; var artifact = new string?[n];
            var audio = new int?[n]; var seconds = new double?[n]; var finished = new DateTime?[n];
            await group.ReadAsync(ParquetExportWriter.JobId, job.AsMemory());
            await group.ReadAsync(ParquetExportWriter.Input, input.AsMemory());
            await group.ReadAsync(ParquetExportWriter.State, state.AsMemory());
            await group.ReadAsync(ParquetExportWriter.Text, text.AsMemory());
            await group.ReadAsync(ParquetExportWriter.Error, error.AsMemory());
            await group.ReadAsync(ParquetExportWriter.Artifact, artifact.AsMemory());
            await group.ReadAsync<int>(ParquetExportWriter.AudioTokenCount, audio.AsMemory());
            await group.ReadAsync<double>(ParquetExportWriter.AudioSeconds, seconds.AsMemory());
            await group.ReadAsync<DateTime>(ParquetExportWriter.FinishedAt, finished.AsMemory());
            for (var i = 0; i < n; i++) rows.Add((job[i], input[i], state[i], text[i], audio[i], seconds[i], error[i], artifact[i], finished[i]));
        }
        Assert.Equal(expected.Count, rows.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            var (e, r) = (expected[i], rows[i]);
            Assert.Equal(e.JobId.ToString(), r.Job);
            Assert.Equal((e.Input, e.State, e.Text, e.AudioTokenCount, e.Error, e.Artifact), (r.Input, r.State, r.Text, r.Audio, r.Error, r.Artifact));
            if (e.State == "succeeded") Assert.Equal(e.AudioSeconds!.Value, r.Seconds!.Value, 9);
            Assert.Equal(e.FinishedAt!.Value, r.Finished!.Value.ToUniversalTime(), TimeSpan.FromMilliseconds(1));
        }
    }

    [Fact]
    public async Task Export_validates_its_format_and_batch_and_the_cross_batch_export_takes_the_filters()
    {
        var bad = await P.Api.GetAsync($"/batches/{f.AsrBatch}/export?format=xlsx");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        var errors = JsonDocument.Parse(await bad.Content.ReadAsStringAsync()).RootElement.GetProperty("errors");
        Assert.Contains("jsonl, csv, parquet", errors.GetProperty("format")[0].GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await P.Api.GetAsync($"/batches/{Guid.NewGuid()}/export")).StatusCode);

        var lines = (await P.Api.GetStringAsync("/results/export?format=jsonl&task=caption")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        Assert.All(lines, l => Assert.Equal(f.CaptionBatch, JsonDocument.Parse(l).RootElement.GetProperty("batch_id").GetGuid()));
        Assert.Equal(HttpStatusCode.BadRequest, (await P.Api.GetAsync("/results/export?state=gone")).StatusCode);
    }

    [Fact]
    public async Task The_cli_streams_each_format_to_a_file_or_stdout()
    {
        var folder = Directory.CreateTempSubdirectory("kimia-export-");
        try
        {
            var csv = Path.Combine(folder.FullName, "out.csv");
            var run = await KimiaCli.RunAsync(f.CliEnvironment, "export", f.AsrBatch.ToString(), "--format", "csv", "--output", csv);
            Assert.True(run.ExitCode == 0, run.ToString());
            Assert.Equal(7, ParseCsv(await File.ReadAllTextAsync(csv)).Count);

            var parquet = Path.Combine(folder.FullName, "out.parquet");
            run = await KimiaCli.RunAsync(f.CliEnvironment, "export", f.AsrBatch.ToString(), "--format", "parquet", "-o", parquet);
            Assert.True(run.ExitCode == 0, run.ToString());
            await using (var reader = await ParquetReader.CreateAsync(parquet))
                Assert.Equal(6, Enumerable.Range(0, reader.RowGroupCount).Sum(g => { using var rg = reader.OpenRowGroupReader(g); return (int)rg.RowCount; }));

            run = await KimiaCli.RunAsync(f.CliEnvironment, "export", f.CaptionBatch.ToString());
            Assert.True(run.ExitCode == 0, run.ToString());
            Assert.Equal(3, run.Stdout.Split('\n').Length);

            var badFormat = await KimiaCli.RunAsync(f.CliEnvironment, "export", f.AsrBatch.ToString(), "--format", "xml");
            Assert.Equal(2, badFormat.ExitCode);
            Assert.Contains("xml", badFormat.Stderr);
            Assert.Contains("parquet", badFormat.Stderr);

            var unknown = await KimiaCli.RunAsync(f.CliEnvironment, "export", Guid.NewGuid().ToString(), "--output", Path.Combine(folder.FullName, "none.jsonl"));
            Assert.Equal(1, unknown.ExitCode);
            Assert.Contains("404", unknown.Stderr);
            Assert.Empty(folder.GetFiles("none.jsonl*"));
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    private static int? NullableInt(JsonElement e) => e.ValueKind == JsonValueKind.Null ? null : e.GetInt32();

    /// <summary>An RFC 4180 reader (quoted fields may hold commas, doubled quotes and line breaks).</summary>
    private static List<string[]> ParseCsv(string text)
    {
        var records = new List<string[]>();
        var fields = new List<string>();
        var field = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (quoted)
            {
                if (c != '"') field.Append(c);
                else if (i + 1 < text.Length && text[i + 1] == '"') { field.Append('"'); i++; }
                else quoted = false;
            }
            else if (c == '"') quoted = true;
            else if (c == ',') { fields.Add(field.ToString()); field.Clear(); }
            else if (c == '\r' && i + 1 < text.Length && text[i + 1] == '\n')
            {
                fields.Add(field.ToString()); field.Clear();
                records.Add([.. fields]); fields.Clear();
                i++;
            }
            else field.Append(c);
        }
        Assert.False(quoted, "unterminated quoted field");
        Assert.True(fields.Count == 0 && field.Length == 0, "the last record lacks its CRLF");
        return records;
    }
}
