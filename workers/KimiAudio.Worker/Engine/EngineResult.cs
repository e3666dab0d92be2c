namespace KimiAudio.Worker.Engine;

/// <summary>What the model produced for one <see cref="EngineRequest"/>.</summary>
public sealed record EngineResult
{
    public required string Text { get; init; }
    public required IReadOnlyList<int> TextTokens { get; init; }
    public required IReadOnlyList<int> AudioTokens { get; init; }
    /// <summary>Generated speech at <see cref="SpeechSampleRate"/>, when audio output was asked for.</summary>
    public float[]? Speech { get; init; }
    /// <summary>Milliseconds per stage (e.g. "encode", "generate", "detokenize").</summary>
    public IReadOnlyDictionary<string, double> TimingsMs { get; init; } = new Dictionary<string, double>();

    public const int SpeechSampleRate = 24000;
}
