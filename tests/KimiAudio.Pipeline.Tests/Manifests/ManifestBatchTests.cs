using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using KimiAudio.Pipeline.Tests.Support;
using KimiAudio.Worker.TestHost;
using Parquet;
using Parquet.Schema;

namespace KimiAudio.Pipeline.Tests.Manifests;

/// <summary>Manifests with the toolkits' columns through orchestrator, broker and worker on the real services.</summary>
public sealed class ManifestBatchTests : IAsyncLifetime
{
    private TestPipeline p = null!;

    public async Task InitializeAsync() => p = await TestPipeline.CreateAsync();

    public async Task DisposeAsync() => await p.DisposeAsync();

    private sealed record JobRow
    {
        public long? ManifestRow { get; init; }
        public long? ManifestLine { get; init; }
        public string InputKey { get; init; } = "";
        public string State { get; init; } = "";
        public int Attempts { get; init; }
        public string? Error { get; init; }
        public string? Prompt { get; init; }
        public double? ResultSeconds { get; init; }
        public string? ResultText { get; init; }
        public string? ResultMetadata { get; init; }
        public string? ResultReference { get; init; }
    }

    private Task<List<JobRow>> JobsAsync(Guid batchId) => p.QueryAsync<JobRow>("""
        SELECT j.manifest_row AS ManifestRow, j.manifest_line AS ManifestLine, j.input_key AS InputKey, j.state AS State,
               j.attempts AS Attempts, j.error AS Error, j.prompt AS Prompt, r.audio_seconds AS ResultSeconds, r.text AS ResultText,
               r.metadata::text AS ResultMetadata, r.reference_text AS ResultReference
          FROM jobs j LEFT JOIN results r ON r.job_id = j.job_id WHERE j.batch_id = @batchId ORDER BY j.seq
        """, new { batchId });

    [Fact]
    public async Task A_jsonl_manifest_annotates_regions_carries_metadata_and_fails_only_its_malformed_rows()
    {
        await p.UploadAsync("audio/long.wav", TestAudio.ToneWav(6));
        await p.UploadAsync("audio/short.wav", TestAudio.ToneWav(1));
        var manifest = string.Join("\n",
            """{"audio_filepath": "audio/long.wav", "offset": 2, "duration": 1.5, "text": "the first region", "speaker": "s1", "snr": 20.5}""",
            $$"""{"audio": "s3://{{p.Bucket}}/audio/short.wav", "question": "what is heard?", "split": "dev"}""",
            "this line is not JSON",
            """{"path": "audio/short.wav", "duration": "long"}""",
            "",
            """{"audio_filepath": "audio/long.wav", "offset": 4.5}""",
            """{"audio_filepath": "audio/long.wav", "offset": 7, "duration": 1}""") + "\n";
        await p.UploadAsync("lists/dev.jsonl", Encoding.UTF8.GetBytes(manifest));
        await p.StartOrchestratorAsync();
        await p.StartWorkerAsync();

        var batchId = await p.SubmitAsync(new { manifest = $"s3://{p.Bucket}/lists/dev.jsonl", task = "asr" });
        var batch = await p.WaitForBatchAsync(batchId, TimeSpan.FromMinutes(2));

        var jobs = await JobsAsync(batchId);
        Assert.Equal(6, jobs.Count);
        Assert.Equal([1L, 2L, 3L, 4L, 5L, 6L], jobs.Select(j => j.ManifestRow!.Value));
        Assert.Equal([1L, 2L, 3L, 4L, 6L, 7L], jobs.Select(j => j.ManifestLine!.Value));
        Assert.Equal(["succeeded", "succeeded", "failed", "failed", "succeeded", "failed"], jobs.Select(j => j.State));
        Assert.Equal(4, batch.GetProperty("counts").GetProperty("succeeded").GetInt32() + batch.GetProperty("counts").GetProperty("failed").GetInt32() - 2);

        // the region alone is decoded: 1.5 s from 2 s, and 4.5 s to the end (1.5 s) of the 6 s file
        Assert.Equal(1.5, jobs[0].ResultSeconds!.Value, 3);
        Assert.Equal(DeterministicEngine.ExpectedText("asr", 0, 24000), jobs[0].ResultText);
        Assert.Equal(1.5, jobs[4].ResultSeconds!.Value, 3);
        Assert.Equal("""{"snr": 20.5, "speaker": "s1"}""", jobs[0].ResultMetadata);
        Assert.Equal("the first region", jobs[0].ResultReference);
        Assert.Equal("what is heard?", jobs[1].Prompt);
        Assert.Equal("""{"split": "dev"}""", jobs[1].ResultMetadata);
        Assert.Null(jobs[4].ResultMetadata);

        // malformed rows fail at submission, never leased, with their line; a region after the end fails in the worker
        Assert.StartsWith("manifest line 3: not JSON", jobs[2].Error);
        Assert.Equal(0, jobs[2].Attempts);
        Assert.Equal("manifest line 4: \"duration\" must be a number of seconds > 0", jobs[3].Error);
        Assert.Equal("audio/short.wav", jobs[3].InputKey);
        Assert.Contains("region starts at 7 s", jobs[5].Error);

        // retry-failed leaves malformed rows alone (they would fail the same way) and retries the rest
        var retried = await p.Api.PostAsync($"/batches/{batchId}/retry-failed", null);
        var body = JsonDocument.Parse(await retried.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(1, body.GetProperty("requeuedJobs").GetInt32());
        await p.WaitForBatchAsync(batchId, TimeSpan.FromMinutes(2));
        Assert.Equal(0, await p.QuerySingleAsync<int>("SELECT count(*)::int FROM jobs WHERE batch_id = @batchId AND malformed AND attempts > 0", new { batchId }));
    }

    [Fact]
    public async Task Csv_and_parquet_manifests_give_the_same_jobs_and_a_whole_file_problem_is_a_400()
    {
        for (var i = 1; i <= 3; i++) await p.UploadAsync($"clips/{i}.wav", TestAudio.ToneWav(i * 0.5));
        var csv = "\uFEFFaudio_filepath,text,speaker,notes\r\n"
                  + "clips/1.wav,\"one, with a comma\",a,\"multi\nline\"\r\n"
                  + "clips/2.wav,\"two \"\"quoted\"\"\",b,\r\n"
                  + "clips/3.wav,three,c,x\r\n";
        await p.UploadAsync("lists/set.csv", Encoding.UTF8.GetBytes(csv));
        await p.UploadAsync("lists/set.parquet", await ParquetAsync());
        await p.UploadAsync("lists/no-audio.csv", Encoding.UTF8.GetBytes("file,transcript,speaker\nclips/1.wav,x,y\n"));
        await p.UploadAsync("lists/broken.parquet", Encoding.UTF8.GetBytes("PAR1 but not really"));
        await p.StartOrchestratorAsync();
        await p.StartWorkerAsync();

        foreach (var name in new[] { "set.csv", "set.parquet" })
        {
            // another task for the second, or its jobs would be skipped as already annotated
            var batchId = await p.SubmitAsync(new { manifest = $"s3://{p.Bucket}/lists/{name}", task = name.EndsWith(".csv", StringComparison.Ordinal) ? "asr" : "caption" });
            await p.WaitForBatchAsync(batchId, TimeSpan.FromMinutes(2));
            await PipelineAssert.AllSucceededAsync(p, batchId, 3);
            var jobs = await JobsAsync(batchId);
            Assert.Equal(["one, with a comma", "two \"quoted\"", "three"], jobs.Select(j => j.ResultReference));
            Assert.Equal([0.5, 1.0, 1.5], jobs.Select(j => Math.Round(j.ResultSeconds!.Value, 3)));
            if (name.EndsWith(".csv", StringComparison.Ordinal))
                Assert.Equal(["""{"notes": "multi\nline", "speaker": "a"}""", """{"speaker": "b"}""", """{"notes": "x", "speaker": "c"}"""], jobs.Select(j => j.ResultMetadata));
            else
                Assert.Equal(["""{"speaker_id": 1}""", """{"speaker_id": 2}""", """{"speaker_id": 3}"""], jobs.Select(j => j.ResultMetadata));
        }

        foreach (var name in new[] { "no-audio.csv", "broken.parquet" })
        {
            var response = await p.PostBatchAsync(new { manifest = $"s3://{p.Bucket}/lists/{name}", task = "asr" });
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == System.Net.HttpStatusCode.BadRequest, $"{name}: {(int)response.StatusCode} {body}");
            Assert.True(JsonDocument.Parse(body).RootElement.GetProperty("errors").TryGetProperty("manifest", out _), body);
        }
        Assert.Equal(2, await p.QuerySingleAsync<int>("SELECT count(*)::int FROM batches"));
    }

    private static async Task<byte[]> ParquetAsync()
    {
        var path = new DataField<string>("audio_filepath");
        var text = new DataField<string>("text");
        var speaker = new DataField<int>("speaker_id");
        var output = new MemoryStream();
        await using (var writer = await ParquetWriter.CreateAsync(new ParquetSchema(path, text, speaker), output))
        {
            using var g = writer.CreateRowGroup();
            await g.WriteAsync(path, new[] { "clips/1.wav", "clips/2.wav", "clips/3.wav" });
            await g.WriteAsync(text, new[] { "one, with a comma", "two \"quoted\"", "three" });
            await g.WriteAsync<int>(speaker, new[] { 1, 2, 3 });
        }
        return output.ToArray();
    }
}
