namespace KimiAudio.Vad;

/// <summary>Cuts 16 kHz mono audio at pauses found by Silero VAD (audio that fits one window is not scored at all).</summary>
public sealed class VadSegmenter(SileroVad vad, SpeechThresholds? thresholds = null, CutRules? rules = null)
{
    public SpeechThresholds Thresholds { get; } = thresholds ?? SpeechThresholds.Default;
    public CutRules Rules { get; } = rules ?? CutRules.Default;

    public IReadOnlyList<SampleRange> Segment(ReadOnlySpan<float> samples, CancellationToken ct = default)
    {
        if (samples.Length <= Rules.MaxSamples) return samples.Length == 0 ? [] : [new SampleRange(0, samples.Length)];
        return PauseCutter.AtPauses(samples.Length, FindPauses(samples, ct), Rules);
    }

    /// <summary>The pauses of the whole recording.</summary>
    public IReadOnlyList<Pause> FindPauses(ReadOnlySpan<float> samples, CancellationToken ct = default)
        => VoiceActivity.Pauses(vad.SpeechProbabilities(samples, ct), samples.Length, Thresholds);
}
