namespace KimiAudio.Pipeline.Tests.Support;

/// <summary>
/// Shared by the tests of the operators' API and CLI (one per test class): a pipeline with an orchestrator, a worker
/// and two finished batches — asr (5 good files and a corrupt one, speech output) and then caption (3 good files, text).
/// The tests only read them, or make new batches of their own.
/// </summary>
public sealed class OpsFixture : IAsyncLifetime
{
    public TestPipeline P { get; private set; } = null!;
    public Guid AsrBatch { get; private set; }
    public Guid CaptionBatch { get; private set; }
    public string CallLog { get; } = Path.Combine(Path.GetTempPath(), $"kimia-ops-calls-{Guid.NewGuid():N}.log");

    /// <summary>KIMIA_API and KIMIA_API_KEY of this pipeline (for the CLI).</summary>
    public Dictionary<string, string?> CliEnvironment => new() { ["KIMIA_API"] = P.Api.BaseAddress!.ToString(), ["KIMIA_API_KEY"] = P.ApiKey };

    public async Task InitializeAsync()
    {
        P = await TestPipeline.CreateAsync();
        for (var i = 0; i < 5; i++) await P.UploadAsync($"asr/clip-{i}.wav", TestAudio.ToneWav(0.5 + i * 0.25));
        await P.UploadAsync("asr/broken, \"quoted\".wav", TestAudio.Garbage());
        for (var i = 0; i < 3; i++) await P.UploadAsync($"cap/talk-{i}.wav", TestAudio.ToneWav(1 + i));
        await P.StartOrchestratorAsync();
        await P.StartWorkerAsync(new Dictionary<string, string?> { ["TestEngine:CallLog"] = CallLog });
        AsrBatch = await P.SubmitAsync(new { source = $"s3://{P.Bucket}/asr/", task = "asr", outputType = "both" });
        await P.WaitForBatchAsync(AsrBatch, TimeSpan.FromMinutes(1));
        CaptionBatch = await P.SubmitAsync(new { source = $"s3://{P.Bucket}/cap/", task = "caption" });
        await P.WaitForBatchAsync(CaptionBatch, TimeSpan.FromMinutes(1));
    }

    public async Task DisposeAsync()
    {
        await P.DisposeAsync();
        File.Delete(CallLog);
    }
}
