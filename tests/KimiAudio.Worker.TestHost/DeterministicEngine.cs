using KimiAudio.Worker.Engine;
using Microsoft.Extensions.Options;

namespace KimiAudio.Worker.TestHost;

/// <summary>
/// A deterministic stand-in for the model: the text is a function of task and segment length, and audio output is
/// one token per started second of input, each token 1920 samples of 24 kHz tone. Pipeline tests and the benchmark only.
/// </summary>
public sealed class DeterministicEngine(IOptions<DeterministicEngineOptions> options) : IInferenceEngine
{
    public const string Kind = "deterministic";
    public const int SamplesPerAudioToken = 1920;
    private static readonly Lock LogLock = new();
    private readonly DeterministicEngineOptions o = options.Value;

    public string ModelId => "test/deterministic-v1";

    public int MaxBatchSize => o.MaxBatchSize;

    /// <summary>The text the engine answers for a segment of <paramref name="sampleCount"/> samples.</summary>
    public static string ExpectedText(string task, int segmentIndex, int sampleCount) => $"{task}#{segmentIndex}:{sampleCount}";

    public static int AudioTokenCount(int sampleCount) => 1 + sampleCount / 16000;

    public async Task<IReadOnlyList<EngineResult>> RunAsync(IReadOnlyList<EngineRequest> requests, CancellationToken ct)
    {
        if (requests.Count > MaxBatchSize) throw new ArgumentException($"{requests.Count} requests, over MaxBatchSize {MaxBatchSize}");
        foreach (var r in requests)
        {
            if (o.RejectTask is not null && r.Task == o.RejectTask) throw new EngineRejectedException(r.JobId, $"task '{r.Task}' is not supported");
            if (o.FailPrompt is not null && r.Prompt == o.FailPrompt) throw new InvalidOperationException("simulated transient engine failure");
        }
        if (requests.Any(r => o.HangPrompt is not null && r.Prompt == o.HangPrompt)) await Task.Delay(Timeout.Infinite, ct);
        if (o.DelayMs > 0) await Task.Delay(o.DelayMs, ct);
        if (o.CallLog is not null)
        {
            var stamp = o.CallLogTimestamps ? " " + DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() : "";
            lock (LogLock) File.AppendAllLines(o.CallLog, requests.Select(r => $"{r.JobId} {r.SegmentIndex}{stamp}"));
        }
        return requests.Select(Answer).ToList();
    }

    private static EngineResult Answer(EngineRequest r)
    {
        var n = r.Samples.Length;
        var text = ExpectedText(r.Task, r.SegmentIndex, n);
        var wantsAudio = r.OutputType != EngineOutputType.Text;
        var audioTokens = wantsAudio ? Enumerable.Range(0, AudioTokenCount(n)).Select(i => (i * 7 + n) % 16384).ToArray() : [];
        float[]? speech = null;
        if (wantsAudio)
        {
            speech = new float[audioTokens.Length * SamplesPerAudioToken];
            for (var i = 0; i < speech.Length; i++) speech[i] = 0.25f * MathF.Sin(2 * MathF.PI * 220 * i / EngineResult.SpeechSampleRate);
        }
        return new EngineResult
        {
            Text = text,
            TextTokens = text.Select(c => (int)c).ToArray(),
            AudioTokens = audioTokens,
            Speech = speech,
            TimingsMs = new Dictionary<string, double> { ["engine"] = 0 },
        };
    }
}
