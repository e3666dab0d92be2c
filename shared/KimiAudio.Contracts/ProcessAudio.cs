namespace KimiAudio.Contracts;

/// <summary>Command: run the model over one input file. One message per job; the job row in Postgres is the source of truth.</summary>
public sealed record ProcessAudio
{
    public required Guid JobId { get; init; }
    public required Guid BatchId { get; init; }
    public required ObjectRef Input { get; init; }
    /// <summary>asr | caption | qa | emotion | chat | ... (open set).</summary>
    public required string Task { get; init; }
    /// <summary>Per-item prompt from a manifest, if any.</summary>
    public string? Prompt { get; init; }
    /// <summary>The question of a qa batch.</summary>
    public string? Question { get; init; }
    /// <summary>text | audio | both.</summary>
    public required string OutputType { get; init; }
    public required SamplingOptions Sampling { get; init; }
    /// <summary>Hash of task, question, prompt, output type and sampling: the incremental-annotation key with the content ETag.</summary>
    public required string OptionsHash { get; init; }
    /// <summary>Only this region of the input (a manifest's offset + duration); null: all of it.</summary>
    public MediaRegion? Region { get; init; }
    /// <summary>Reference transcript from the manifest (its "text"): the result is scored against it (WER/CER).</summary>
    public string? ReferenceText { get; init; }
    /// <summary>Language of the item from the manifest ("language"/"lang"), e.g. en, zh: picks the scoring normalisation.</summary>
    public string? Language { get; init; }
}
