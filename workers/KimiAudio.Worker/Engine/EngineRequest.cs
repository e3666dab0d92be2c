namespace KimiAudio.Worker.Engine;

/// <summary>One model call: a segment of a job's audio plus what to do with it.</summary>
public sealed record EngineRequest
{
    public required Guid JobId { get; init; }
    public required int SegmentIndex { get; init; }
    /// <summary>asr | caption | qa | emotion | chat | ... (open set; an engine rejects what it does not know).</summary>
    public required string Task { get; init; }
    public string? Prompt { get; init; }
    public string? Question { get; init; }
    /// <summary>16 kHz mono samples in [-1, 1], at most 30 s.</summary>
    public required ReadOnlyMemory<float> Samples { get; init; }
    public required EngineOutputType OutputType { get; init; }
    public required EngineSampling Sampling { get; init; }
}

public enum EngineOutputType { Text, Audio, Both }

/// <summary>Sampling settings for text and audio token generation.</summary>
public sealed record EngineSampling(double Temperature, int TopK, double RepetitionPenalty, int Seed, int MaxTokens);
