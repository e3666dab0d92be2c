using KimiAudio.Worker.Engine;
using Microsoft.Extensions.Options;

namespace KimiAudio.Worker.TestHost;

/// <summary>
/// A deterministic stand-in for the model: the text is a function of task and segment length, and audio output is
/// one token per started second of input, each token 1920 samples of 24 kHz tone. Like the real engine it takes
/// requests one by one from any number of callers and runs at most <see cref="MaxBatchSize"/> of them at once (its
/// slots); a request takes <see cref="DeterministicEngineOptions.DelayMs"/> of wall time in its slot. Tests and the
/// benchmark only.
/// </summary>
public sealed class DeterministicEngine : IInferenceEngine, IDisposable
{
    public const string Kind = "deterministic";
    public const int SamplesPerAudioToken = 1920;
    private static readonly Lock LogLock = new();
    private readonly DeterministicEngineOptions o;
    private readonly SemaphoreSlim slots;
    private int active;
    private int peakActive;
    private readonly Lock peakLock = new();

    public DeterministicEngine(IOptions<DeterministicEngineOptions> options)
    {
        o = options.Value;
        if (o.MaxBatchSize < 1) throw new ArgumentException($"TestEngine:MaxBatchSize must be >= 1, not {o.MaxBatchSize}");
        slots = new SemaphoreSlim(o.MaxBatchSize, o.MaxBatchSize);
    }

    public string ModelId => "test/deterministic-v1";

    public int MaxBatchSize => o.MaxBatchSize;

    /// <summary>The text the engine answers for a segment of <paramref name="sampleCount"/> samples.</summary>
    public static string ExpectedText(string task, int segmentIndex, int sampleCount) => $"{task}#{segmentIndex}:{sampleCount}";

    public static int AudioTokenCount(int sampleCount) => 1 + sampleCount / 16000;

    /// <summary>Most requests that were in a slot at the same time so far.</summary>
    public int PeakActive { get { lock (peakLock) return peakActive; } }

    /// <summary>Called with each request as it takes a slot (before its delay); for tests.</summary>
    public Action<EngineRequest>? OnStart { get; set; }

    public async Task<EngineResult> RunAsync(EngineRequest r, CancellationToken ct)
    {
        if (o.RejectTask is not null && r.Task == o.RejectTask) throw new EngineRejectedException(r.JobId, $"task '{r.Task}' is not supported");
        if (o.FailPrompt is not null && r.Prompt == o.FailPrompt) throw new InvalidOperationException("simulated transient engine failure");
        await slots.WaitAsync(ct);
        try
        {
            var now = Interlocked.Increment(ref active);
            lock (peakLock) peakActive = Math.Max(peakActive, now);
            OnStart?.Invoke(r);
            // a hung model call holds its slot, as a hung forward pass would hold the model
            if (o.HangPrompt is not null && r.Prompt == o.HangPrompt) await Task.Delay(Timeout.Infinite, ct);
            var delay = o.DelayMs + (o.SlowPrompt is not null && r.Prompt == o.SlowPrompt ? o.SlowDelayMs : 0);
            if (delay > 0) await Task.Delay(delay, ct);
        }
        finally
        {
            Interlocked.Decrement(ref active);
            slots.Release();
        }
        if (o.CallLog is not null)
        {
            var stamp = o.CallLogTimestamps ? " " + DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() : "";
            lock (LogLock) File.AppendAllLines(o.CallLog, [$"{r.JobId} {r.SegmentIndex}{stamp}"]);
        }
        return Answer(r);
    }

    public void Dispose() => slots.Dispose();

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
