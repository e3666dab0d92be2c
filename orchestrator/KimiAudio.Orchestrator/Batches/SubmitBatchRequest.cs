namespace KimiAudio.Orchestrator.Batches;

/// <summary>POST /batches body. Exactly one of <see cref="Source"/> (a prefix) and <see cref="Manifest"/> (a JSONL/CSV object of keys).</summary>
public sealed record SubmitBatchRequest
{
    /// <summary>s3://bucket/prefix: every object under the prefix is one job.</summary>
    public string? Source { get; init; }
    /// <summary>s3://bucket/list.jsonl ({"key": "...", "prompt": "..."} per line) or s3://bucket/list.csv (key[,prompt]).</summary>
    public string? Manifest { get; init; }
    public string? Task { get; init; }
    public string? Question { get; init; }
    /// <summary>text (default) | audio | both.</summary>
    public string? OutputType { get; init; }
    public SamplingRequest? Sampling { get; init; }
    /// <summary>0 (default, lowest) … 9.</summary>
    public int? Priority { get; init; }
    /// <summary>Attempts per job before it fails for good, 1 … 100; default Orchestrator:MaxAttempts (5).</summary>
    public int? MaxAttempts { get; init; }
}

public sealed record SamplingRequest
{
    public double? Temperature { get; init; }
    public int? TopK { get; init; }
    public double? RepetitionPenalty { get; init; }
    public int? Seed { get; init; }
    public int? MaxTokens { get; init; }
}
