using System.Net;
using System.Text.Json;
using KimiAudio.Pipeline.Tests.Support;
using KimiAudio.Worker.TestHost;

namespace KimiAudio.Pipeline.Tests;

/// <summary>Whole batches through orchestrator, RabbitMQ and worker on the real services.</summary>
public sealed class BatchLifecycleTests : IAsyncLifetime
{
    private TestPipeline p = null!;

    public async Task InitializeAsync() => p = await TestPipeline.CreateAsync();

    public async Task DisposeAsync() => await p.DisposeAsync();

    [Fact]
    public async Task A_batch_of_25_files_succeeds_with_one_result_and_one_artifact_per_file()
    {
        for (var i = 0; i < 25; i++) await p.UploadAsync($"in/clip-{i:D2}.wav", TestAudio.ToneWav(0.5 + i * 0.1));
        await p.UploadAsync("other/not-in-batch.wav", TestAudio.ToneWav(1));
        await p.StartOrchestratorAsync();
        await p.StartWorkerAsync();

        var batchId = await p.SubmitAsync(new { source = $"s3://{p.Bucket}/in/", task = "asr", outputType = "both", sampling = new { seed = 7 } });
        var batch = await p.WaitForBatchAsync(batchId, TimeSpan.FromMinutes(2));

        Assert.Equal("completed", batch.GetProperty("state").GetString());
        Assert.Equal(25, batch.GetProperty("counts").GetProperty("succeeded").GetInt32());
        Assert.Equal(Enumerable.Range(0, 25).Sum(i => 0.5 + i * 0.1), batch.GetProperty("audioSecondsDone").GetDouble(), 3);
        await PipelineAssert.AllSucceededAsync(p, batchId, 25);

        var results = await p.QueryAsync<(string Key, string Text, string ArtifactKey, int AudioTokens)>("""
            SELECT input_key, text, artifact_key, cardinality(audio_tokens) FROM results WHERE batch_id = @batchId ORDER BY input_key
            """, new { batchId });
        Assert.Equal(25, results.Count);
        for (var i = 0; i < 25; i++)
        {
            var samples = (int)Math.Round((0.5 + i * 0.1) * 16000);
            Assert.Equal($"in/clip-{i:D2}.wav", results[i].Key);
            Assert.Equal(DeterministicEngine.ExpectedText("asr", 0, samples), results[i].Text);
            Assert.Equal(DeterministicEngine.AudioTokenCount(samples), results[i].AudioTokens);
            var artifact = await p.Store.HeadAsync(p.Bucket, results[i].ArtifactKey, CancellationToken.None);
            Assert.NotNull(artifact);
            Assert.Equal(44 + 2L * results[i].AudioTokens * DeterministicEngine.SamplesPerAudioToken, artifact.Size);
        }
        Assert.Equal(25, await p.CountObjectsAsync("kimia-results/"));

        var api = JsonDocument.Parse(await p.Api.GetStringAsync($"/batches/{batchId}/results?limit=1000")).RootElement;
        Assert.Equal(25, api.GetProperty("items").GetArrayLength());
    }

    [Fact]
    public async Task A_corrupt_and_an_empty_file_fail_with_a_reason_and_the_rest_succeed()
    {
        for (var i = 0; i < 6; i++) await p.UploadAsync($"mix/good-{i}.wav", TestAudio.ToneWav(1));
        await p.UploadAsync("mix/corrupt.wav", TestAudio.Garbage());
        await p.UploadAsync("mix/empty.wav", []);
        await p.UploadAsync("mix/header-only.wav", TestAudio.ToneWav(1)[..45]); // the data chunk holds 1 byte of a 2-byte sample
        await p.UploadAsync("mix/good-one-sample.wav", TestAudio.ToneWav(1.0 / 16000));
        await p.StartOrchestratorAsync();
        await p.StartWorkerAsync();

        var batchId = await p.SubmitAsync(new { source = $"s3://{p.Bucket}/mix/", task = "caption" });
        await p.WaitForBatchAsync(batchId, TimeSpan.FromMinutes(2));

        await PipelineAssert.NothingLostNothingDuplicatedAsync(p, batchId, 10);
        var jobs = (await p.QueryAsync<(string Key, string State, int Attempts, string? Error)>(
            "SELECT input_key, state, attempts, error FROM jobs WHERE batch_id = @batchId", new { batchId })).ToDictionary(j => j.Key);
        foreach (var (bad, reason) in new[]
                 {
                     ("mix/corrupt.wav", "could not be decoded"), ("mix/empty.wav", "the input is empty (0 bytes)"),
                     ("mix/header-only.wav", "holds 1 bytes, less than one sample frame"),
                 })
        {
            Assert.Equal("failed", jobs[bad].State);
            Assert.Equal(1, jobs[bad].Attempts); // permanent: no retries
            Assert.Contains(reason, jobs[bad].Error);
            Assert.DoesNotContain('\n', jobs[bad].Error!);
        }
        Assert.All(jobs.Values.Where(j => j.Key.Contains("good")), j => Assert.Equal("succeeded", j.State));
        Assert.Equal(7, await p.QuerySingleAsync<int>("SELECT count(*)::int FROM results WHERE batch_id = @batchId", new { batchId }));
    }

    [Fact]
    public async Task Resubmitting_the_same_source_skips_files_already_annotated_with_the_same_options()
    {
        for (var i = 0; i < 5; i++) await p.UploadAsync($"inc/a-{i}.wav", TestAudio.ToneWav(1 + i * 0.25));
        await p.StartOrchestratorAsync();
        await p.StartWorkerAsync();
        var request = new { source = $"s3://{p.Bucket}/inc/", task = "asr" };
        var first = await p.SubmitAsync(request);
        await p.WaitForBatchAsync(first, TimeSpan.FromMinutes(2));

        await p.UploadAsync("inc/b-new.wav", TestAudio.ToneWav(2.1));
        await p.UploadAsync("inc/a-0.wav", TestAudio.ToneWav(3)); // changed content: new ETag, annotated again
        var second = await p.SubmitAsync(request);
        var batch = await p.WaitForBatchAsync(second, TimeSpan.FromMinutes(2));

        Assert.Equal(6, batch.GetProperty("totalJobs").GetInt32());
        Assert.Equal(4, batch.GetProperty("skippedJobs").GetInt32());
        Assert.Equal(4, batch.GetProperty("counts").GetProperty("skipped").GetInt32());
        Assert.Equal(2, batch.GetProperty("counts").GetProperty("succeeded").GetInt32());
        await PipelineAssert.NothingLostNothingDuplicatedAsync(p, second, 6);
        Assert.Equal(2, await p.QuerySingleAsync<int>("SELECT count(*)::int FROM results WHERE batch_id = @second", new { second }));
        // the results listing of the second batch still shows all six files, four of them from the first batch
        var api = JsonDocument.Parse(await p.Api.GetStringAsync($"/batches/{second}/results")).RootElement.GetProperty("items");
        Assert.Equal(6, api.GetArrayLength());
        Assert.Equal(4, api.EnumerateArray().Count(i => i.GetProperty("reusedJobId").ValueKind == JsonValueKind.String));

        // other options: nothing is reused
        var third = await p.SubmitAsync(new { source = $"s3://{p.Bucket}/inc/", task = "emotion" });
        var thirdBatch = await p.WaitForBatchAsync(third, TimeSpan.FromMinutes(2));
        Assert.Equal(0, thirdBatch.GetProperty("skippedJobs").GetInt32());
        Assert.Equal(6, thirdBatch.GetProperty("counts").GetProperty("succeeded").GetInt32());
    }

    [Fact]
    public async Task A_cancelled_batch_runs_none_of_its_pending_jobs()
    {
        for (var i = 0; i < 12; i++) await p.UploadAsync($"c/{i}.wav", TestAudio.ToneWav(0.5));
        await p.StartOrchestratorAsync();
        var batchId = await p.SubmitAsync(new { source = $"s3://{p.Bucket}/c/", task = "asr" });
        var cancel = await p.Api.PostAsync($"/batches/{batchId}/cancel", null);
        cancel.EnsureSuccessStatusCode();
        Assert.Equal(12, JsonDocument.Parse(await cancel.Content.ReadAsStringAsync()).RootElement.GetProperty("cancelledJobs").GetInt32());

        Assert.Equal(12, await p.QueueDepthAsync("process-audio"));
        var worker = await p.StartWorkerAsync(); // takes the 12 messages and must skip every one
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (await p.QueueDepthAsync("process-audio") > 0 && DateTime.UtcNow < deadline) await Task.Delay(100);
        await p.StopWorkerAsync(worker); // a graceful stop finishes (acks) what was delivered, or returns it
        Assert.Equal(0, await p.QueueDepthAsync("process-audio"));
        var batch = await p.WaitForBatchAsync(batchId, TimeSpan.FromSeconds(30));

        Assert.Equal("cancelled", batch.GetProperty("state").GetString());
        Assert.Equal(12, batch.GetProperty("counts").GetProperty("cancelled").GetInt32());
        Assert.Equal(0, await p.QuerySingleAsync<int>("SELECT count(*)::int FROM results"));
        Assert.Equal(0, await p.QuerySingleAsync<int>("SELECT count(*)::int FROM jobs WHERE attempts > 0"));
    }

    [Fact]
    public async Task A_manifest_gives_per_item_prompts_and_a_missing_object_fails_its_job()
    {
        await p.UploadAsync("m/one.wav", TestAudio.ToneWav(1));
        await p.UploadAsync("m/two.wav", TestAudio.ToneWav(1.5));
        var manifest = "{\"key\":\"m/one.wav\",\"prompt\":\"first\"}\n{\"key\":\"s3://" + p.Bucket + "/m/two.wav\"}\n{\"key\":\"m/missing.wav\"}\n";
        await p.UploadAsync("lists/batch.jsonl", System.Text.Encoding.UTF8.GetBytes(manifest));
        await p.StartOrchestratorAsync();
        await p.StartWorkerAsync();

        var batchId = await p.SubmitAsync(new { manifest = $"s3://{p.Bucket}/lists/batch.jsonl", task = "qa", question = "What is heard?" });
        await p.WaitForBatchAsync(batchId, TimeSpan.FromMinutes(2));

        await PipelineAssert.NothingLostNothingDuplicatedAsync(p, batchId, 3);
        var jobs = (await p.QueryAsync<(string Key, string State, string? Prompt, string? Error)>(
            "SELECT input_key, state, prompt, error FROM jobs WHERE batch_id = @batchId", new { batchId })).ToDictionary(j => j.Key);
        Assert.Equal("first", jobs["m/one.wav"].Prompt);
        Assert.Equal("succeeded", jobs["m/one.wav"].State);
        Assert.Equal("succeeded", jobs["m/two.wav"].State);
        Assert.Equal("failed", jobs["m/missing.wav"].State);
        Assert.Contains("does not exist", jobs["m/missing.wav"].Error);
    }

    [Fact]
    public async Task Invalid_submissions_get_400_naming_the_bad_field()
    {
        await p.StartOrchestratorAsync();
        async Task ExpectBadField(object request, string field)
        {
            var response = await p.PostBatchAsync(request);
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{(int)response.StatusCode}: {body}");
            Assert.True(JsonDocument.Parse(body).RootElement.GetProperty("errors").TryGetProperty(field, out _), $"no error on '{field}': {body}");
        }
        await ExpectBadField(new { source = "http://x/y", task = "asr" }, "source");
        await ExpectBadField(new { source = $"s3://{p.Bucket}/", task = "" }, "task");
        await ExpectBadField(new { source = $"s3://{p.Bucket}/", task = "qa" }, "question");
        await ExpectBadField(new { source = $"s3://{p.Bucket}/", task = "asr", outputType = "video" }, "outputType");
        await ExpectBadField(new { source = $"s3://{p.Bucket}/", task = "asr", priority = 12 }, "priority");
        await ExpectBadField(new { source = $"s3://{p.Bucket}/", task = "asr", sampling = new { temperature = -1 } }, "sampling.temperature");
        await ExpectBadField(new { source = $"s3://{p.Bucket}/nothing-here/", task = "asr" }, "source");
        await ExpectBadField(new { source = "s3://no-such-bucket-kimia/", task = "asr" }, "source");
        await ExpectBadField(new { manifest = $"s3://{p.Bucket}/list.txt", task = "asr" }, "manifest");
        // a malformed row fails alone (Manifests/ManifestBatchTests); a file that cannot be read as a whole is refused
        await p.UploadAsync("bad.csv", System.Text.Encoding.UTF8.GetBytes("file,transcript,speaker\na.wav,x,y\n"));
        await ExpectBadField(new { manifest = $"s3://{p.Bucket}/bad.csv", task = "asr" }, "manifest");
        Assert.Equal(0, await p.QuerySingleAsync<int>("SELECT count(*)::int FROM batches"));
    }
}
