using System.Net;
using System.Text;
using System.Text.Json;
using KimiAudio.Evaluation;
using KimiAudio.Orchestrator.Export;
using KimiAudio.Pipeline.Tests.Support;
using Parquet.Serialization;

namespace KimiAudio.Pipeline.Tests.Manifests;

/// <summary>
/// A manifest with references and metadata, annotated: the stored scores, the batch's corpus scores, the WER filter, and
/// the NeMo, Hugging Face and Lhotse exports read back with independent readers and compared with the tables.
/// </summary>
public sealed class DatasetExportTests : IAsyncLifetime
{
    private TestPipeline p = null!;
    private Guid batchId;

    public async Task InitializeAsync()
    {
        p = await TestPipeline.CreateAsync();
        await p.UploadAsync("rec/long.wav", TestAudio.ToneWav(50));
        foreach (var name in new[] { "a", "b", "c" }) await p.UploadAsync($"rec/{name}.wav", TestAudio.ToneWav(1));
        var manifest = string.Join("\n",
            """{"audio_filepath": "rec/long.wav", "offset": 5, "duration": 40, "text": "a long region", "speaker": "s1", "snr": 12.5, "clean": true}""",
            // the deterministic engine answers "asr#0:16000" for a 1 s file: this reference matches it after normalisation
            """{"audio_filepath": "rec/a.wav", "text": "ASR #0: 16000", "speaker": "s2", "snr": 3}""",
            """{"audio_filepath": "rec/b.wav", "text": "completely different words here", "speaker": "s3", "clean": false}""",
            """{"audio_filepath": "rec/c.wav", "speaker": "s4", "text": null}""",
            """{"audio_filepath": "rec/d.wav", "duration": 0}""") + "\n";
        await p.UploadAsync("lists/train.jsonl", Encoding.UTF8.GetBytes(manifest));
        await p.StartOrchestratorAsync(new Dictionary<string, string?> { ["Orchestrator:ExportRowGroupSize"] = "2" });
        await p.StartWorkerAsync();
        batchId = await p.SubmitAsync(new { manifest = $"s3://{p.Bucket}/lists/train.jsonl", task = "asr" });
        await p.WaitForBatchAsync(batchId, TimeSpan.FromMinutes(3));
    }

    public async Task DisposeAsync() => await p.DisposeAsync();

    private sealed record Row
    {
        public Guid JobId { get; init; }
        public string InputKey { get; init; } = "";
        public string State { get; init; } = "";
        public string? Error { get; init; }
        public double? OffsetSeconds { get; init; }
        public string? Metadata { get; init; }
        public string? Text { get; init; }
        public double? AudioSeconds { get; init; }
        public string? ReferenceText { get; init; }
        public double? Wer { get; init; }
        public double? Cer { get; init; }
        public int? ReferenceWords { get; init; }
        public int? WordSubstitutions { get; init; }
        public int? WordDeletions { get; init; }
        public int? WordInsertions { get; init; }
        public int? ReferenceChars { get; init; }
        public int? CharErrors { get; init; }
    }

    private Task<List<Row>> RowsAsync() => p.QueryAsync<Row>("""
        SELECT j.job_id AS JobId, j.input_key AS InputKey, j.state AS State, j.error AS Error, j.offset_seconds AS OffsetSeconds,
               j.metadata::text AS Metadata, r.text AS Text, r.audio_seconds AS AudioSeconds, r.reference_text AS ReferenceText,
               r.wer AS Wer, r.cer AS Cer, r.reference_words AS ReferenceWords, r.word_substitutions AS WordSubstitutions,
               r.word_deletions AS WordDeletions, r.word_insertions AS WordInsertions, r.reference_chars AS ReferenceChars, r.char_errors AS CharErrors
          FROM jobs j LEFT JOIN results r ON r.job_id = j.job_id WHERE j.batch_id = @batchId ORDER BY j.seq
        """, new { batchId });

    private async Task<HttpResponseMessage> ExportAsync(string format)
    {
        var response = await p.Api.GetAsync($"/batches/{batchId}/export?format={format}");
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return response;
    }

    [Fact]
    public async Task Each_result_with_a_reference_is_scored_and_the_batch_is_scored_as_a_corpus()
    {
        var rows = await RowsAsync();
        Assert.Equal(["succeeded", "succeeded", "succeeded", "succeeded", "failed"], rows.Select(r => r.State));
        foreach (var r in rows.Where(r => r.ReferenceText is not null))
        {
            var expected = TranscriptScorer.Score(r.ReferenceText!, r.Text!);
            Assert.Equal(expected.Wer, r.Wer!.Value, 12);
            Assert.Equal(expected.Cer, r.Cer!.Value, 12);
            Assert.Equal((expected.Words.Substitutions, expected.Words.Deletions, expected.Words.Insertions, expected.Words.ReferenceLength),
                (r.WordSubstitutions!.Value, r.WordDeletions!.Value, r.WordInsertions!.Value, r.ReferenceWords!.Value));
            Assert.Equal((expected.Characters.Errors, expected.Characters.ReferenceLength), (r.CharErrors!.Value, r.ReferenceChars!.Value));
        }
        Assert.Equal(0, rows[1].Wer);               // the reference that matches the engine's answer
        Assert.True(rows[2].Wer >= 1, $"WER {rows[2].Wer}");
        Assert.Null(rows[3].Wer);                   // no reference: not scored
        Assert.Null(rows[3].ReferenceText);

        var scored = rows.Where(r => r.Wer is not null).ToList();
        var quality = (await p.GetBatchAsync(batchId)).GetProperty("quality");
        Assert.Equal(3, quality.GetProperty("scoredResults").GetInt32());
        long errors = scored.Sum(r => r.WordSubstitutions!.Value + r.WordDeletions!.Value + r.WordInsertions!.Value);
        Assert.Equal((double)errors / scored.Sum(r => r.ReferenceWords!.Value), quality.GetProperty("wer").GetDouble(), 12);
        Assert.Equal((double)scored.Sum(r => r.CharErrors!.Value) / scored.Sum(r => r.ReferenceChars!.Value), quality.GetProperty("cer").GetDouble(), 12);
        Assert.Equal(scored.Sum(r => r.WordInsertions!.Value), quality.GetProperty("insertions").GetInt64());
        Assert.Equal(scored.Max(r => r.Wer!.Value), quality.GetProperty("maxWer").GetDouble(), 12);

        // the worst rows: minWer, and a bad bound is a 400 naming it
        var worst = JsonDocument.Parse(await p.Api.GetStringAsync($"/results?batchId={batchId}&minWer=0.5")).RootElement.GetProperty("items");
        Assert.Equal(rows.Where(r => r.Wer >= 0.5).Select(r => r.InputKey), worst.EnumerateArray().Select(i => i.GetProperty("input").GetString()!.Split('/', 4)[3]));
        Assert.Equal(["rec/long.wav", "rec/b.wav"], rows.Where(r => r.Wer >= 0.5).Select(r => r.InputKey));
        Assert.Equal(rows[2].Wer!.Value, worst[1].GetProperty("result").GetProperty("quality").GetProperty("wer").GetDouble(), 12);
        Assert.Equal("s3", worst[1].GetProperty("metadata").GetProperty("speaker").GetString());
        var good = JsonDocument.Parse(await p.Api.GetStringAsync($"/results?batchId={batchId}&maxWer=0")).RootElement.GetProperty("items");
        Assert.Equal(["rec/a.wav"], good.EnumerateArray().Select(i => i.GetProperty("input").GetString()!.Split('/', 4)[3]));
        var bad = await p.Api.GetAsync($"/results?minWer=abc");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("minWer", await bad.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Nemo_manifest_has_the_files_with_results_and_their_metadata()
    {
        var rows = (await RowsAsync()).Where(r => r.Text is not null).ToList();
        using var response = await ExportAsync("nemo");
        Assert.True(response.Headers.Contains(ExportResponse.QualityHeader));
        var lines = (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(rows.Count, lines.Length);
        for (var i = 0; i < rows.Count; i++)
        {
            var e = rows[i];
            var o = JsonDocument.Parse(lines[i]).RootElement;
            Assert.Equal($"s3://{p.Bucket}/{e.InputKey}", o.GetProperty("audio_filepath").GetString());
            Assert.Equal(e.AudioSeconds!.Value, o.GetProperty("duration").GetDouble(), 9);
            Assert.Equal(e.Text, o.GetProperty("text").GetString());
            Assert.Equal(e.OffsetSeconds is not null, o.TryGetProperty("offset", out var offset));
            if (e.OffsetSeconds is { } off) Assert.Equal(off, offset.GetDouble());
            using var metadata = JsonDocument.Parse(e.Metadata!);
            foreach (var m in metadata.RootElement.EnumerateObject()) Assert.Equal(m.Value.GetRawText(), o.GetProperty(m.Name).GetRawText());
            Assert.Equal(e.Wer is not null, o.TryGetProperty("wer", out var wer));
            if (e.Wer is { } w) { Assert.Equal(w, wer.GetDouble(), 12); Assert.Equal(e.ReferenceText, o.GetProperty("reference_text").GetString()); }
        }
        Assert.Equal(40, JsonDocument.Parse(lines[0]).RootElement.GetProperty("duration").GetDouble(), 3);
    }

    [Fact]
    public async Task Hugging_face_parquet_has_one_row_per_file_with_typed_metadata_columns()
    {
        var rows = await RowsAsync();
        using var response = await ExportAsync("hf");
        await using var body = new MemoryStream(await response.Content.ReadAsByteArrayAsync());
        // read with the untyped serializer, not the column API the writer uses
        var table = await ParquetSerializer.DeserializeUntypedAsync(body);
        Assert.Equal(rows.Count, table.Data.Count);
        Assert.Contains("x-kimia-quality", table.CustomMetadata!.Keys);
        Assert.Equal(
            ["audio", "text", "duration", "offset", "reference_text", "wer", "cer", "job_id", "state", "error", "clean", "snr", "speaker"],
            table.Schema.Fields.Select(f => f.Name));
        for (var i = 0; i < rows.Count; i++)
        {
            var e = rows[i];
            var o = table.Data[i].ToDictionary(k => k.Key, k => (object?)k.Value); // the untyped reader leaves null cells out
            foreach (var f in table.Schema.Fields) o.TryAdd(f.Name, null);
            Assert.Equal($"s3://{p.Bucket}/{e.InputKey}", o["audio"]);
            Assert.Equal(e.JobId.ToString(), o["job_id"]);
            Assert.Equal(e.State, o["state"]);
            Assert.Equal(e.Text, o["text"]);
            Assert.Equal(e.Error, o["error"]);
            Assert.Equal(e.Wer, (double?)o["wer"]);
            Assert.Equal(e.ReferenceText, o["reference_text"]);
            Assert.Equal(e.OffsetSeconds, (double?)o["offset"]);
            using var metadata = JsonDocument.Parse(e.Metadata ?? "{}");
            var m = metadata.RootElement;
            Assert.Equal(m.TryGetProperty("speaker", out var s) ? s.GetString() : null, o["speaker"]);
            Assert.Equal(m.TryGetProperty("snr", out var snr) ? snr.GetDouble() : null, (double?)o["snr"]);
            Assert.Equal(m.TryGetProperty("clean", out var clean) ? clean.GetBoolean() : null, (bool?)o["clean"]);
        }
    }

    [Fact]
    public async Task Lhotse_supervisions_have_one_line_per_segment_placed_in_the_recording()
    {
        var segments = await p.QueryAsync<(Guid JobId, string InputKey, double? Offset, int Index, int Start, int End, string Text, string? Metadata)>("""
            SELECT j.job_id, j.input_key, j.offset_seconds, s.segment_index, s.start_sample, s.end_sample, s.text, j.metadata::text
              FROM jobs j JOIN job_segments s ON s.job_id = j.job_id WHERE j.batch_id = @batchId ORDER BY j.seq, s.segment_index
            """, new { batchId });
        Assert.Equal(2, segments.Count(s => s.InputKey == "rec/long.wav")); // 40 s: a 30 s segment and a 10 s one
        using var response = await ExportAsync("lhotse");
        var lines = (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(segments.Count, lines.Length);
        for (var i = 0; i < segments.Count; i++)
        {
            var e = segments[i];
            var o = JsonDocument.Parse(lines[i]).RootElement;
            Assert.Equal($"{e.JobId}-{e.Index}", o.GetProperty("id").GetString());
            Assert.Equal($"s3://{p.Bucket}/{e.InputKey}", o.GetProperty("recording_id").GetString());
            Assert.Equal((e.Offset ?? 0) + e.Start / 16000.0, o.GetProperty("start").GetDouble(), 6);
            Assert.Equal((e.End - e.Start) / 16000.0, o.GetProperty("duration").GetDouble(), 6);
            Assert.Equal(0, o.GetProperty("channel").GetInt32());
            Assert.Equal(e.Text.Trim(), o.GetProperty("text").GetString());
            var custom = o.GetProperty("custom");
            Assert.Equal(e.JobId, custom.GetProperty("job_id").GetGuid());
            using var metadata = JsonDocument.Parse(e.Metadata!);
            foreach (var m in metadata.RootElement.EnumerateObject()) Assert.Equal(m.Value.GetRawText(), custom.GetProperty(m.Name).GetRawText());
        }
        Assert.Equal([5.0, 35.0], lines.Take(2).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("start").GetDouble()));
    }

    [Fact]
    public async Task The_cli_and_the_results_browser_show_the_scores()
    {
        var rows = await RowsAsync();
        var env = new Dictionary<string, string?> { ["KIMIA_API"] = p.Api.BaseAddress!.ToString(), ["KIMIA_API_KEY"] = p.ApiKey };
        var status = await KimiaCli.RunAsync(env, "status", batchId.ToString());
        Assert.Equal(0, status.ExitCode);
        var quality = (await p.GetBatchAsync(batchId)).GetProperty("quality");
        Assert.Contains($"quality: WER {quality.GetProperty("wer").GetDouble().ToString("P2", System.Globalization.CultureInfo.InvariantCulture)}", status.Stdout);
        var worst = await KimiaCli.RunAsync(env, "results", "--batch", batchId.ToString(), "--min-wer", "0.5", "--json");
        Assert.Equal(0, worst.ExitCode);
        Assert.Equal(rows.Count(r => r.Wer >= 0.5), worst.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        var usage = await KimiaCli.RunAsync(env, "results", "--min-wer", "many");
        Assert.Equal(2, usage.ExitCode);

        using var client = new HttpClient(new HttpClientHandler { CookieContainer = new System.Net.CookieContainer(), AllowAutoRedirect = false }) { BaseAddress = p.Api.BaseAddress };
        var login = await Browser.ResultsBrowserFixture.LogInAsync(client, p.ApiKey);
        Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        var page = await client.GetStringAsync($"/ui/batches/{batchId}");
        Assert.Contains("id=\"batch-quality\"", page);
        Assert.Contains("0.0 %", page); // a.wav matches its reference
        var job = await client.GetStringAsync($"/ui/jobs/{rows[2].JobId}");
        Assert.Contains("completely different words here", job);
        Assert.Contains($"WER {rows[2].Wer!.Value.ToString("0.0 %", System.Globalization.CultureInfo.InvariantCulture)}", job);
        Assert.Contains("&quot;speaker&quot;: &quot;s3&quot;", job);
    }
}
