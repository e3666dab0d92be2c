using System.Buffers.Binary;
using KimiAudio.Model;
using KimiAudio.Pipeline.Tests.Support;
using KimiAudio.Model.TinyCheckpoints;

namespace KimiAudio.Pipeline.Tests;

/// <summary>
/// Batches through the worker's default engine: the real TorchSharp Kimi-Audio model, loaded from a generated tiny
/// checkpoint with the official folder layout (LLM, Whisper, GLM tokenizer, detokenizer, vocoder).
/// </summary>
public sealed class RealEngineTests : IAsyncLifetime
{
    private static readonly Lazy<string> Checkpoint = new(() =>
    {
        var dir = Directory.CreateTempSubdirectory("kimia-tiny-pipeline-").FullName;
        TinyKimiAudioCheckpoint.Write(dir, seed: 21);
        return dir;
    });

    private TestPipeline p = null!;

    public async Task InitializeAsync() => p = await TestPipeline.CreateAsync();

    public async Task DisposeAsync() => await p.DisposeAsync();

    private Dictionary<string, string?> TorchEngine() => new()
    {
        ["Engine:Kind"] = "torch",
        ["Engine:ModelPath"] = Checkpoint.Value,
        ["Engine:DType"] = "float32",
        ["Engine:MaxBatchSize"] = "4",
    };

    [Fact]
    public async Task A_chat_batch_stores_one_24kHz_wav_per_job_whose_length_matches_its_token_count()
    {
        for (var i = 0; i < 5; i++) await p.UploadAsync($"talk/q-{i}.wav", TestAudio.ToneWav(1.0 + 0.4 * i, frequency: 220 + 90 * i));
        await p.StartOrchestratorAsync();
        await p.StartWorkerAsync(TorchEngine());

        var batchId = await p.SubmitAsync(new { source = $"s3://{p.Bucket}/talk/", task = "chat", outputType = "both", sampling = new { seed = 3, maxTokens = 60 } });
        var batch = await p.WaitForBatchAsync(batchId, TimeSpan.FromMinutes(5));

        Assert.True(batch.GetProperty("counts").GetProperty("succeeded").GetInt32() == 5, await p.DescribeJobsAsync(batchId));
        await PipelineAssert.AllSucceededAsync(p, batchId, 5);
        var rows = await p.QueryAsync<(string Key, string ArtifactKey, int AudioTokens, string ModelId)>("""
            SELECT input_key, artifact_key, cardinality(audio_tokens), model_id FROM results WHERE batch_id = @batchId ORDER BY input_key
            """, new { batchId });
        Assert.Equal(5, rows.Count);
        Assert.Contains(rows, r => r.AudioTokens > 0);
        foreach (var row in rows)
        {
            Assert.EndsWith("@float32", row.ModelId);
            var wav = await p.Store.GetBytesAsync(p.Bucket, row.ArtifactKey, 64 << 20, CancellationToken.None);
            Assert.Equal("RIFF", System.Text.Encoding.ASCII.GetString(wav, 0, 4));
            Assert.Equal(24000, BinaryPrimitives.ReadInt32LittleEndian(wav.AsSpan(24)));
            Assert.Equal(2 * 1920 * row.AudioTokens, BinaryPrimitives.ReadInt32LittleEndian(wav.AsSpan(40)));
            Assert.Equal(44 + 2 * 1920 * row.AudioTokens, wav.Length);
        }
    }

    [Fact]
    public async Task An_asr_batch_runs_on_the_real_engine_and_a_corrupt_file_fails_alone()
    {
        for (var i = 0; i < 4; i++) await p.UploadAsync($"asr/a-{i}.wav", TestAudio.ToneWav(0.8 + 0.3 * i));
        await p.UploadAsync("asr/broken.wav", TestAudio.Garbage());
        await p.StartOrchestratorAsync();
        await p.StartWorkerAsync(TorchEngine());

        var batchId = await p.SubmitAsync(new { source = $"s3://{p.Bucket}/asr/", task = "asr", sampling = new { maxTokens = 16 } });
        await p.WaitForBatchAsync(batchId, TimeSpan.FromMinutes(5));

        await PipelineAssert.NothingLostNothingDuplicatedAsync(p, batchId, 5);
        var jobs = (await p.QueryAsync<(string Key, string State, string? Error)>(
            "SELECT input_key, state, error FROM jobs WHERE batch_id = @batchId", new { batchId })).ToDictionary(j => j.Key);
        Assert.Equal("failed", jobs["asr/broken.wav"].State);
        Assert.Contains("undecodable", jobs["asr/broken.wav"].Error);
        Assert.All(jobs.Where(j => j.Key != "asr/broken.wav"), j => Assert.Equal("succeeded", j.Value.State));
        var tokens = await p.QueryAsync<int>("SELECT cardinality(text_tokens) FROM results WHERE batch_id = @batchId", new { batchId });
        Assert.Equal(4, tokens.Count);
        Assert.All(tokens, n => Assert.InRange(n, 0, 16));
    }
}
