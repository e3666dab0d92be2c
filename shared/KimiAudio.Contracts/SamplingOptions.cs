namespace KimiAudio.Contracts;

/// <summary>Generation settings passed through to the model.</summary>
public sealed record SamplingOptions
{
    public double Temperature { get; init; }
    public int TopK { get; init; } = 5;
    public double RepetitionPenalty { get; init; } = 1.0;
    public int Seed { get; init; }
    public int MaxTokens { get; init; } = 512;
}
