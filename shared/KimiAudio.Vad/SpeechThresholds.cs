namespace KimiAudio.Vad;

/// <summary>How frame probabilities become pauses (the defaults are Silero's own recommended settings).</summary>
public sealed record SpeechThresholds
{
    /// <summary>A frame at or above this probability starts speech.</summary>
    public float Threshold { get; init; } = 0.5f;
    /// <summary>Speech goes on until a frame falls below this (hysteresis); default Threshold − 0.15.</summary>
    public float? EndThreshold { get; init; }
    /// <summary>Shorter non-speech gaps inside speech (stops, breaths) are not pauses.</summary>
    public double MinPauseSeconds { get; init; } = 0.1;
    /// <summary>Speech bursts shorter than this (clicks) are treated as non-speech.</summary>
    public double MinSpeechSeconds { get; init; } = 0.25;
    /// <summary>Each pause is shrunk by this much at both ends, so a cut never lands on a word's soft onset or tail.</summary>
    public double SpeechPadSeconds { get; init; } = 0.03;

    public static SpeechThresholds Default { get; } = new();
}
